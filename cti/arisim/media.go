package arisim

import (
	"bytes"
	"encoding/binary"
	"io"
	"math"
	"slices"
	"strings"
	"sync"
	"time"
)

// mediaLength is how long one media URI plays (simulated); ok is false for
// media Asterisk would fail to play. Tones play until stopped (length 0).
func (s *Server) mediaLength(uri string) (d time.Duration, ok bool) {
	scheme, rest, found := strings.Cut(uri, ":")
	if !found {
		return 0, false
	}
	switch scheme {
	case "sound":
		d, ok = s.sounds[rest]
		return d, ok
	case "recording":
		r, ok := s.stored[rest]
		if !ok {
			return 0, false
		}
		return r.length, true
	case "digits", "characters":
		return time.Duration(len(rest)) * 500 * time.Millisecond, rest != ""
	case "number":
		if rest == "" {
			return 0, false
		}
		return time.Duration(len(rest)) * 600 * time.Millisecond, true
	case "tone":
		return 0, rest != ""
	}
	return 0, false
}

// queuePlayback adds p to its target's queue and starts it when it is first.
func (s *Server) queuePlayback(p *playback) {
	s.playbacks[p.id] = p
	if p.br != nil {
		p.br.playQueue = append(p.br.playQueue, p)
		if p.br.announcerName == "" {
			p.br.announcerName = s.unrealName("Announcer/ARI")
			s.bridgeChanged(p.br, false)
		}
		if len(p.br.playQueue) == 1 {
			p.timer = s.after(0, func() { s.startPlayback(p) })
		}
		return
	}
	p.ch.playQueue = append(p.ch.playQueue, p)
	if len(p.ch.playQueue) == 1 {
		p.timer = s.after(0, func() { s.startPlayback(p) })
	}
}

func (s *Server) startPlayback(p *playback) {
	p.state = "playing"
	s.emitPlayback("PlaybackStarted", p)
	s.playSegment(p)
}

func (s *Server) playSegment(p *playback) {
	d, ok := s.mediaLength(p.media[p.idx])
	if !ok {
		s.finishPlayback(p, "failed")
		return
	}
	if p.ch != nil {
		s.scriptOnPlayback(p.ch, p.media[p.idx])
	}
	p.left = d
	p.startAt = time.Now()
	if d > 0 {
		p.timer = s.after(d, func() { s.segmentDone(p) })
	}
}

func (s *Server) segmentDone(p *playback) {
	if p.idx+1 < len(p.media) {
		p.state = "continuing"
		s.emitPlayback("PlaybackContinuing", p)
		p.idx++
		p.state = "playing"
		s.emitPlayback("PlaybackStarted", p)
		s.playSegment(p)
		return
	}
	s.finishPlayback(p, "done")
}

// finishPlayback ends p and starts the next queued playback on its target.
func (s *Server) finishPlayback(p *playback, state string) {
	if _, live := s.playbacks[p.id]; !live {
		return
	}
	p.timer.stopLocked(s)
	delete(s.playbacks, p.id)
	started := p.state != "queued"
	p.state = state
	var next *playback
	if p.br != nil {
		p.br.playQueue = removePlayback(p.br.playQueue, p)
		if len(p.br.playQueue) > 0 {
			next = p.br.playQueue[0]
		}
	} else {
		p.ch.playQueue = removePlayback(p.ch.playQueue, p)
		if len(p.ch.playQueue) > 0 {
			next = p.ch.playQueue[0]
		}
	}
	if started {
		s.emitPlayback("PlaybackFinished", p)
	}
	if p.br != nil && next == nil && p.br.announcerName != "" {
		p.br.announcerName = ""
		s.bridgeChanged(p.br, false)
	}
	if next != nil && next.state == "queued" {
		s.startPlayback(next)
	}
}

func removePlayback(list []*playback, p *playback) []*playback {
	out := list[:0]
	for _, x := range list {
		if x != p {
			out = append(out, x)
		}
	}
	return out
}

// pausePlayback/unpause/skip implement POST /playbacks/{id}/control.
func (s *Server) controlPlayback(p *playback, op string) response {
	playing := p.state == "playing" || p.state == "paused"
	if !playing {
		return errMsg(409, "Can only "+op+" while media is playing")
	}
	full, _ := s.mediaLength(p.media[p.idx])
	elapsed := time.Duration(float64(time.Since(p.startAt)) / s.cfg.TimeScale)
	remaining := p.left
	if p.state == "playing" && full > 0 {
		remaining = max(p.left-elapsed, 0)
	}
	resched := func(left time.Duration) {
		p.timer.stopLocked(s)
		p.left = left
		p.startAt = time.Now()
		if full > 0 && p.state == "playing" {
			p.timer = s.after(left, func() { s.segmentDone(p) })
		}
	}
	switch op {
	case "pause":
		if p.state == "playing" {
			p.timer.stopLocked(s)
			p.left = remaining
			p.state = "paused"
		}
	case "unpause":
		if p.state == "paused" {
			p.state = "playing"
			s.emitPlayback("PlaybackStarted", p)
			resched(p.left)
		}
	case "restart":
		resched(full)
	case "reverse":
		resched(min(remaining+time.Duration(p.skipms)*time.Millisecond, full))
	case "forward":
		left := remaining - time.Duration(p.skipms)*time.Millisecond
		if left <= 0 && full > 0 {
			resched(0)
			return noContent()
		}
		resched(left)
	}
	return noContent()
}

// stopChannelMedia ends playbacks and recordings of a channel going away.
func (s *Server) stopChannelMedia(c *channel) {
	for _, p := range append([]*playback(nil), c.playQueue...) {
		s.finishPlayback(p, "done")
	}
	for _, r := range s.recordingsOf(c, nil) {
		s.finishRecording(r, "done")
	}
}

// knownFormats are the recording formats with a file format module loaded.
var knownFormats = map[string]bool{"wav": true, "WAV": true, "wav16": true, "gsm": true, "ulaw": true, "alaw": true, "sln": true, "g722": true, "g729": true, "ogg": true, "wav49": true}

func (s *Server) startRecording(r *liveRecording, beep bool, maxDuration int) {
	s.liveRecs[r.name] = r
	if r.br != nil {
		r.br.recs = append(r.br.recs, r)
	} else {
		r.ch.recs = append(r.ch.recs, r)
	}
	delay := time.Duration(0)
	if beep {
		delay = 400 * time.Millisecond
	}
	r.timer = s.after(delay, func() {
		r.state = "recording"
		r.started = time.Now()
		s.emitRecording("RecordingStarted", r, nil)
		if maxDuration > 0 {
			r.timer = s.after(time.Duration(maxDuration)*time.Second, func() { s.finishRecording(r, "done") })
		}
	})
}

// recordedLength is the simulated time r has been recording, measured on
// the wall clock (not Config.Now) and divided by the time scale.
func (s *Server) recordedLength(r *liveRecording) time.Duration {
	if r.started.IsZero() {
		return 0
	}
	end := time.Now()
	if r.state == "paused" {
		end = r.pausedAt
	}
	wall := end.Sub(r.started) - r.pausedFor
	return time.Duration(float64(wall) / s.cfg.TimeScale)
}

// finishRecording stops r; done stores it, canceled discards it.
func (s *Server) finishRecording(r *liveRecording, state string) {
	if s.liveRecs[r.name] != r {
		return
	}
	r.timer.stopLocked(s)
	length := s.recordedLength(r) + r.appendTo
	delete(s.liveRecs, r.name)
	if r.br != nil {
		r.br.recs = slices.DeleteFunc(r.br.recs, func(x *liveRecording) bool { return x == r })
	} else {
		r.ch.recs = slices.DeleteFunc(r.ch.recs, func(x *liveRecording) bool { return x == r })
	}
	if r.ch != nil && r.ch.recording == r {
		r.ch.recording = nil
	}
	var br *bridge
	if r.br != nil && r.br.recording == r {
		r.br.recording = nil
		br = r.br
	}
	wasRecording := !r.started.IsZero()
	r.state = state
	if state == "done" {
		s.stored[r.name] = &storedRecording{name: r.name, format: r.format, length: length}
	}
	if wasRecording {
		d := int(length / time.Second)
		s.emitRecording("RecordingFinished", r, &d)
	}
	if br != nil {
		br.recorderName = ""
		s.bridgeChanged(br, false)
	}
}

// wavFile renders d of 8 kHz mono 16-bit PCM: a quiet 440 Hz tone.
func wavFile(d time.Duration) []byte {
	var b bytes.Buffer
	b.Grow(wavSize(d))
	writeWAV(&b, d) //nolint:errcheck // a bytes.Buffer does not fail
	return b.Bytes()
}

func wavSize(d time.Duration) int { return 44 + 2*int(d.Seconds()*8000) }

// writeWAV writes wavFile(d) to w without holding the file in memory.
func writeWAV(w io.Writer, d time.Duration) error {
	n := int(d.Seconds() * 8000)
	data := n * 2
	var h [44]byte
	copy(h[0:], "RIFF")
	binary.LittleEndian.PutUint32(h[4:], uint32(36+data))
	copy(h[8:], "WAVEfmt ")
	binary.LittleEndian.PutUint32(h[16:], 16)
	binary.LittleEndian.PutUint16(h[20:], 1)
	binary.LittleEndian.PutUint16(h[22:], 1)
	binary.LittleEndian.PutUint32(h[24:], 8000)
	binary.LittleEndian.PutUint32(h[28:], 16000)
	binary.LittleEndian.PutUint16(h[32:], 2)
	binary.LittleEndian.PutUint16(h[34:], 16)
	copy(h[36:], "data")
	binary.LittleEndian.PutUint32(h[40:], uint32(data))
	if _, err := w.Write(h[:]); err != nil {
		return err
	}
	// The tone repeats every 200 samples (11 cycles of 440 Hz at 8 kHz);
	// copying that period is the same bytes as computing each sample, for
	// the first hour, which TestWavTone checks. Past it the samples are
	// computed, so no rounding drift can ever change a file.
	tiled := min(n, wavExactSamples)
	tone := toneMinute()
	for left := 2 * tiled; left > 0; {
		chunk := tone[:min(left, len(tone))]
		if _, err := w.Write(chunk); err != nil {
			return err
		}
		left -= len(chunk)
	}
	var sample [2]byte
	for i := tiled; i < n; i++ {
		binary.LittleEndian.PutUint16(sample[:], uint16(toneSample(i)))
		if _, err := w.Write(sample[:]); err != nil {
			return err
		}
	}
	return nil
}

// wavExactSamples is how far tiling tonePeriod is known to match toneSample.
const wavExactSamples = 8000 * 3600

func toneSample(i int) int16 {
	return int16(1000 * math.Sin(2*math.Pi*440*float64(i)/8000))
}

// tonePeriod is one period of the recordings' tone, little-endian PCM.
var tonePeriod = func() (p [400]byte) {
	for i := range 200 {
		binary.LittleEndian.PutUint16(p[2*i:], uint16(toneSample(i)))
	}
	return p
}()

// toneMinute is one minute of the tone (2,400 periods), made once and
// shared, read-only, by every stored recording's file: a file of up to a
// minute goes out in one write of its samples instead of one a second.
var toneMinute = sync.OnceValue(func() []byte { return bytes.Repeat(tonePeriod[:], 2400) })

// recordingsOf returns the live recordings of channel c or bridge b in name
// order: each keeps its own list, so this costs nothing per other call.
func (s *Server) recordingsOf(c *channel, b *bridge) []*liveRecording {
	var out []*liveRecording
	if c != nil {
		out = append(out, c.recs...)
	}
	if b != nil {
		out = append(out, b.recs...)
	}
	slices.SortFunc(out, func(x, y *liveRecording) int { return strings.Compare(x.name, y.name) })
	return out
}
