package arisim

import (
	"fmt"
	"sort"
	"strings"
	"time"
)

// chanKind says how a channel came to be; it decides which events Asterisk
// sends at its end (ChannelDestroyed only for channels ARI created).
type chanKind int

const (
	kindInbound    chanKind = iota // a caller that entered Stasis(app,...) from the dialplan
	kindOriginated                 // POST /channels
	kindCreated                    // POST /channels/create
	kindSnoop                      // POST /channels/{id}/snoop
	kindExternal                   // POST /channels/externalMedia
)

func (k chanKind) String() string {
	return [...]string{"inbound", "originated", "created", "snoop", "external"}[k]
}

// party is a caller id or connected line.
type party struct{ name, number string }

type dialplan struct {
	context, exten   string
	priority         int
	appName, appData string
}

// channel is one simulated Asterisk channel.
type channel struct {
	id, name, protocolID string
	state                string // Down, Ring, Ringing, Up
	caller, connected    party
	dp                   dialplan
	created              time.Time
	createdText          string // astTime(created), formatted once for every snapshot
	language             string
	pickup               func() // answers a ringing outbound channel; nil when not ringing
	vars                 map[string]string
	funcs                map[string]string // values of dialplan functions (PJSIP_HEADER(read,X) ...)
	kind                 chanKind
	tech                 string // PJSIP, Snoop, UnicastRTP
	endpoint             *endpoint
	pvtCallID            string // what peers see in BRIDGEPVTCALLID

	app      string // the Stasis app the channel is (or will be) in
	inStasis bool
	answered bool
	bridge   *bridge
	peerVal  map[string]string // BRIDGEPEER/BRIDGEPVTCALLID as last set

	playQueue []*playback // queued/playing playbacks, head is current
	recording *liveRecording
	recs      []*liveRecording // every live recording of the channel (recordingsOf)
	snoops    []*channel
	snoopOf   *channel
	timers    []*timer
	dialTimer *timer
	dialstr   string // saved dialstring of /channels/create
	rtp       *rtpSession
	script    *CallSpec
	gone      bool
	counted   bool // counted in Stats.CallsBridged
	inhibitCL bool // addChannel?inhibitConnectedLineUpdates=true
}

func (c *channel) json() channelJSON {
	return channelJSON{
		ID: c.id, Name: c.name, State: c.state, ProtocolID: c.protocolID,
		Caller:       partyJSON{c.caller.name, c.caller.number},
		Connected:    partyJSON{c.connected.name, c.connected.number},
		Dialplan:     dialplanJSON{c.dp.context, c.dp.exten, c.dp.priority, c.dp.appName, c.dp.appData},
		Creationtime: creationText(&c.createdText, c.created),
		Language:     c.language,
	}
}

func (c *channel) addTimer(t *timer) {
	c.timers = append(c.timers, t)
}

// bridge is one simulated bridge.
type bridge struct {
	id, name, typ string // typ: mixing or holding
	creator       string
	app           string
	created       time.Time
	createdText   string // astTime(created), formatted once
	channels      []*channel
	softmix       bool
	playQueue     []*playback
	recording     *liveRecording
	recs          []*liveRecording // every live recording of the bridge (recordingsOf)
	mohName       string           // unreal participants: MOH announcer,
	announcerName string           // playback announcer,
	recorderName  string           // recorder
}

func (b *bridge) technology() string {
	switch {
	case b.typ == "holding":
		return "holding_bridge"
	case b.softmix:
		return "softmix"
	}
	return "simple_bridge"
}

// participants counts channels plus the announcer/recorder Asterisk pushes
// into a bridge; past two the bridge switches from simple_bridge to softmix.
func (b *bridge) updateTechnology() {
	n := len(b.participants())
	if b.typ == "mixing" {
		if n > 2 {
			b.softmix = true
		} else if len(b.channels) == 0 {
			b.softmix = false
		}
	}
}

func (b *bridge) json() bridgeJSON {
	ids := make([]string, 0, len(b.channels))
	for _, c := range b.channels {
		ids = append(ids, c.id)
	}
	return bridgeJSON{
		ID: b.id, Technology: b.technology(), BridgeType: b.typ, BridgeClass: "stasis",
		Creator: b.creator, Name: b.name, Channels: ids, Creationtime: creationText(&b.createdText, b.created), VideoMode: "talker",
	}
}

// playback is one media playback on a channel or bridge.
type playback struct {
	id       string
	media    []string
	idx      int
	language string
	state    string // queued, playing, continuing, paused, done, failed
	ch       *channel
	br       *bridge
	timer    *timer
	left     time.Duration // remaining play time of the current media (simulated)
	startAt  time.Time     // when the current segment started playing
	skipms   int
}

func (p *playback) targetURI() string {
	if p.br != nil {
		return "bridge:" + p.br.id
	}
	return "channel:" + p.ch.id
}

func (p *playback) json() playbackJSON {
	j := playbackJSON{ID: p.id, MediaURI: p.media[p.idx], TargetURI: p.targetURI(), Language: p.language, State: p.state}
	if p.idx+1 < len(p.media) {
		j.NextMediaURI = p.media[p.idx+1]
	}
	return j
}

// liveRecording is a recording in progress.
type liveRecording struct {
	name, format string
	state        string // queued, recording, paused, done
	ch           *channel
	br           *bridge
	started      time.Time
	pausedFor    time.Duration
	pausedAt     time.Time
	timer        *timer
	appendTo     time.Duration
}

func (r *liveRecording) targetURI() string {
	if r.br != nil {
		return "bridge:" + r.br.id
	}
	return "channel:" + r.ch.id
}

func (r *liveRecording) json() liveRecordingJSON {
	return liveRecordingJSON{Name: r.name, Format: r.format, State: r.state, TargetURI: r.targetURI()}
}

// storedRecording is a finished recording; its audio is synthesised on demand.
type storedRecording struct {
	name, format string
	length       time.Duration // simulated
}

// endpoint is a PJSIP endpoint and the behaviour of the phone behind it.
type endpoint struct {
	tech, resource string
	b              Behaviour
}

func (e *endpoint) id() string { return e.tech + "/" + e.resource }

func (e *endpoint) state() string {
	if e.b.Registered {
		return "online"
	}
	return "offline"
}

// appReg is a Stasis application registered over an events websocket.
type appReg struct {
	name         string
	conn         *wsConn // nil: not registered (no websocket)
	subscribeAll bool
	endpoints    map[string]bool // "PJSIP/1001" or "PJSIP" (whole tech)
	devices      map[string]bool
	channels     map[string]bool // channel:<id> subscriptions
	bridges      map[string]bool // bridge:<id> subscriptions
	filter       eventFilter     // which event types the app's websocket gets
}

// Behaviour is what the phone behind an endpoint does when dialled.
type Behaviour struct {
	// Registered: the endpoint has a contact. Dialling an unregistered
	// endpoint fails synchronously with 500 {"error":"Allocation failed"}.
	Registered bool
	// AnswerAfter is the ringing time before answering (default 1 s).
	AnswerAfter time.Duration
	// NoAnswer: ring until the dial timeout.
	NoAnswer bool
	// Busy: answer 486 Busy Here at once.
	Busy bool
	// HangupAfter hangs the answered call up from the phone (0: never).
	HangupAfter time.Duration
	// CallerName/CallerNumber is the phone's own caller id, shown to the
	// other party's connected line when bridged.
	CallerName, CallerNumber string
	// Context is the dialplan context of channels to this endpoint (default "agents").
	Context string
}

func (s *Server) nextUniqueID() string {
	s.seq++
	return fmt.Sprintf("%d.%d", s.now().Unix(), s.seq)
}

func (s *Server) uuid() string {
	var b [16]byte
	for i := range b {
		b[i] = byte(s.rng.UintN(256))
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// parseCallerID splits `"Name" <number>` like ast_callerid_parse.
func parseCallerID(s string) party {
	s = strings.TrimSpace(s)
	if i := strings.LastIndex(s, "<"); i >= 0 {
		if j := strings.Index(s[i:], ">"); j > 0 {
			num := s[i+1 : i+j]
			name := strings.TrimSpace(s[:i])
			name = strings.Trim(name, `"`)
			return party{name: strings.TrimSpace(name), number: num}
		}
	}
	isNum := s != ""
	for _, r := range s {
		if !strings.ContainsRune("0123456789+*#-() .", r) {
			isNum = false
		}
	}
	if isNum {
		return party{number: s}
	}
	return party{name: strings.Trim(s, `"`)}
}

// creationText formats a creation time once: every event carries the
// snapshot of its channel, so it is asked for on each one.
func creationText(cache *string, t time.Time) string {
	if *cache == "" {
		*cache = astTime(t)
	}
	return *cache
}
