package arisim

import (
	"encoding/binary"
	"math"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// RTP as Asterisk sends it to an externalMedia peer in the transcript:
// PCMU (payload type 0), 240-byte payloads every 30 ms.
const (
	rtpPayloadType = 0
	rtpPayloadSize = 240
	rtpInterval    = 30 * time.Millisecond
)

// rtpSession is the media of one externalMedia channel: a UDP socket on
// RTPHost, a sender that streams while the channel is bridged with another
// one, and a receiver that counts what the external side sends.
type rtpSession struct {
	conn     *net.UDPConn
	remote   *net.UDPAddr
	active   atomic.Bool
	sent     atomic.Int64
	recv     atomic.Int64
	done     chan struct{}
	stopOnce sync.Once
	onPacket func(packet []byte, at time.Time) // Config.OnRTP for this channel
}

func (s *Server) startRTP(remote, channelID string) (*rtpSession, error) {
	raddr, err := net.ResolveUDPAddr("udp", remote)
	if err != nil {
		return nil, err
	}
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.ParseIP(s.cfg.RTPHost)})
	if err != nil {
		return nil, err
	}
	r := &rtpSession{conn: conn, remote: raddr, done: make(chan struct{})}
	if on := s.cfg.OnRTP; on != nil {
		r.onPacket = func(b []byte, at time.Time) { on(channelID, b, at) }
	}
	s.wg.Add(2)
	go r.sendLoop(s)
	go r.recvLoop(s)
	return r, nil
}

func (r *rtpSession) localAddr() *net.UDPAddr { return r.conn.LocalAddr().(*net.UDPAddr) }

func (r *rtpSession) stop() {
	r.stopOnce.Do(func() {
		close(r.done)
		r.conn.Close()
	})
}

func (r *rtpSession) sendLoop(s *Server) {
	defer s.wg.Done()
	t := time.NewTicker(rtpInterval)
	defer t.Stop()
	ssrc := s.rngUint32()
	seq := uint16(s.rngUint32())
	ts := s.rngUint32()
	pkt := make([]byte, 12+rtpPayloadSize)
	phase := 0
	for {
		select {
		case <-r.done:
			return
		case <-t.C:
		}
		if !r.active.Load() {
			continue
		}
		pkt[0] = 0x80
		pkt[1] = rtpPayloadType
		binary.BigEndian.PutUint16(pkt[2:], seq)
		binary.BigEndian.PutUint32(pkt[4:], ts)
		binary.BigEndian.PutUint32(pkt[8:], ssrc)
		for i := range rtpPayloadSize {
			v := 2000 * math.Sin(2*math.Pi*440*float64(phase)/8000)
			pkt[12+i] = linearToULaw(int16(v))
			phase++
		}
		if _, err := r.conn.WriteToUDP(pkt, r.remote); err == nil {
			r.sent.Add(1)
		}
		seq++
		ts += rtpPayloadSize
	}
}

func (r *rtpSession) recvLoop(s *Server) {
	defer s.wg.Done()
	buf := make([]byte, 2048)
	for {
		n, _, err := r.conn.ReadFromUDP(buf)
		if err != nil {
			select {
			case <-r.done:
				return
			default:
			}
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				continue
			}
			return
		}
		if n >= 12 && buf[0]>>6 == 2 {
			r.recv.Add(1)
			if r.onPacket != nil {
				r.onPacket(buf[:n], time.Now())
			}
		}
	}
}

func (s *Server) rngUint32() uint32 {
	s.mu.Lock()
	defer s.unlock()
	return s.rng.Uint32()
}

// linearToULaw is G.711 µ-law encoding.
func linearToULaw(sample int16) byte {
	const bias = 0x84
	const clip = 32635
	sign := byte(0)
	s := int(sample)
	if s < 0 {
		s = -s
		sign = 0x80
	}
	if s > clip {
		s = clip
	}
	s += bias
	exp := 7
	for mask := 0x4000; s&mask == 0 && exp > 0; mask >>= 1 {
		exp--
	}
	mant := (s >> (exp + 3)) & 0x0f
	return ^(sign | byte(exp<<4) | byte(mant))
}

// updateMedia starts or pauses RTP of externalMedia channels in b: Asterisk sends what the bridge mixes for them, the other
// channels' audio or the bridge's music on hold and announcements.
func (b *bridge) updateMedia() {
	sources := len(b.channels)
	if b.mohName != "" {
		sources++
	}
	if b.announcerName != "" {
		sources++
	}
	for _, c := range b.channels {
		if c.rtp != nil {
			c.rtp.active.Store(sources >= 2)
		}
	}
}
