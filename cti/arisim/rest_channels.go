package arisim

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

type handlerFunc func(s *Server, q *request) response

// handlers maps spec operation ids to implementations. Operations without an
// entry answer 501 like an unimplemented Asterisk handler; none answers 200
// with made-up data. Handlers run with s.mu held.
var handlers = map[string]handlerFunc{}

func init() {
	for id, h := range map[string]handlerFunc{
		"channels.list":               (*Server).channelsList,
		"channels.originate":          (*Server).channelsOriginate,
		"channels.originateWithId":    (*Server).channelsOriginate,
		"channels.create":             (*Server).channelsCreate,
		"channels.get":                (*Server).channelsGet,
		"channels.hangup":             (*Server).channelsHangup,
		"channels.continueInDialplan": (*Server).channelsContinue,
		"channels.answer":             (*Server).channelsAnswer,
		"channels.ring":               (*Server).channelsNoEvent,
		"channels.ringStop":           (*Server).channelsNoEvent,
		"channels.progress":           (*Server).channelsNoEvent,
		"channels.sendDTMF":           (*Server).channelsSendDTMF,
		"channels.mute":               (*Server).channelsNoEvent,
		"channels.unmute":             (*Server).channelsNoEvent,
		"channels.hold":               (*Server).channelsNoEvent,
		"channels.unhold":             (*Server).channelsNoEvent,
		"channels.startMoh":           (*Server).channelsNoEvent,
		"channels.stopMoh":            (*Server).channelsNoEvent,
		"channels.startSilence":       (*Server).channelsNoEvent,
		"channels.stopSilence":        (*Server).channelsNoEvent,
		"channels.play":               (*Server).channelsPlay,
		"channels.playWithId":         (*Server).channelsPlay,
		"channels.record":             (*Server).channelsRecord,
		"channels.getChannelVar":      (*Server).channelsGetVar,
		"channels.setChannelVar":      (*Server).channelsSetVar,
		"channels.snoopChannel":       (*Server).channelsSnoop,
		"channels.snoopChannelWithId": (*Server).channelsSnoop,
		"channels.dial":               (*Server).channelsDial,
		"channels.externalMedia":      (*Server).channelsExternalMedia,
	} {
		handlers[id] = h
	}
}

// findControl mirrors Asterisk's find_control: 404 for no channel, 409 for
// a channel that is not in a Stasis application.
func (s *Server) findControl(id string) (*channel, response, bool) {
	c := s.channels[id]
	if c == nil {
		return nil, errMsg(http.StatusNotFound, "Channel not found"), false
	}
	if !c.inStasis {
		return nil, errMsg(http.StatusConflict, "Channel not in Stasis application"), false
	}
	return c, response{}, true
}

// stateInvalid mirrors channel_state_invalid: outbound channels that are
// Down or Ringing cannot be answered, played to, moved in the dialplan...
func stateInvalid(c *channel) (response, bool) {
	if c.state == "Down" || c.state == "Ringing" {
		return errMsg(http.StatusPreconditionFailed, "Channel in invalid state"), true
	}
	return response{}, false
}

func (s *Server) controlled(id string) (*channel, response, bool) {
	c, resp, ok := s.findControl(id)
	if !ok {
		return nil, resp, false
	}
	if resp, bad := stateInvalid(c); bad {
		return nil, resp, false
	}
	return c, response{}, true
}

func (s *Server) channelsList(q *request) response {
	list := make([]channelJSON, 0, len(s.channels))
	for _, id := range sortedKeys(s.channels) {
		list = append(list, s.channels[id].json())
	}
	return ok(list)
}

func (s *Server) channelsGet(q *request) response {
	c := s.channels[q.str("channelId")]
	if c == nil {
		return errMsg(http.StatusNotFound, "Channel not found")
	}
	return ok(c.json())
}

// maxUniqueID is AST_MAX_PUBLIC_UNIQUEID.
const maxUniqueID = 149

// endpointFor resolves a dial endpoint "PJSIP/1001"; nil means Asterisk
// could not allocate a channel (unknown or unregistered endpoint).
func (s *Server) endpointFor(tech, resource string) *endpoint {
	ep := s.endpoints[tech+"/"+resource]
	if ep == nil || !ep.b.Registered || ep.resource == "carrier" {
		return nil
	}
	return ep
}

// bodyVariables reads the "variables" of an originate, create or
// externalMedia body. Since 22.10 a value may be a string or an object
// {"value", "report_events"}, as for setChannelVars.
func bodyVariables(q *request) (map[string]string, response, bool) {
	raw, found := q.body["variables"]
	if !found || string(raw) == "null" { // null was, and stays, no variables
		return nil, response{}, true
	}
	assigns, valid := parseVarAssigns(raw)
	if !valid {
		return nil, errMsg(http.StatusBadRequest, "Only string values in the 'variables' object allowed"), false
	}
	out := make(map[string]string, len(assigns))
	for _, a := range assigns {
		out[a.name] = a.value
	}
	return out, response{}, true
}

func (s *Server) channelsOriginate(q *request) response {
	vars, resp, good := bodyVariables(q)
	if !good {
		return resp
	}
	id, other := q.str("channelId"), q.str("otherChannelId")
	if len(id) > maxUniqueID || len(other) > maxUniqueID {
		return errMsg(http.StatusBadRequest, fmt.Sprintf("Uniqueid length exceeds maximum of %d", maxUniqueID))
	}
	if q.str("originator") != "" && q.str("formats") != "" {
		return errMsg(http.StatusBadRequest, "Originator and formats can't both be specified")
	}
	tech, resource, _ := strings.Cut(q.str("endpoint"), "/")
	if tech == "" || resource == "" {
		return errMsg(http.StatusBadRequest, "Invalid endpoint specified")
	}
	app, exten := q.str("app"), q.str("extension")
	if app == "" && exten == "" {
		return errMsg(http.StatusBadRequest, "Application or extension must be specified")
	}
	if o := q.str("originator"); o != "" && s.channels[o] == nil {
		return errMsg(http.StatusBadRequest, "Provided originator channel was not found")
	}
	if id != "" && s.channels[id] != nil || other != "" && s.channels[other] != nil {
		return errMsg(http.StatusConflict, "Channel with given unique ID already exists")
	}
	ep := s.endpointFor(tech, resource)
	if ep == nil {
		return allocFailed()
	}
	c := s.newPJSIPChannel(ep, id)
	c.kind = kindOriginated
	c.protocolID = s.uuid()
	c.pvtCallID = c.protocolID
	c.app = app
	c.dp = dialplan{context: ep.context(), exten: "s", priority: 1, appName: "AppDial2", appData: "(Outgoing Line)"}
	if cid := q.str("callerId"); cid != "" {
		p := parseCallerID(cid)
		c.caller, c.connected = p, p
	}
	for k, v := range vars {
		c.vars[k] = v
	}
	snapshot := c.json()
	timeout := 30 * time.Second
	switch t := q.int("timeout", 30); {
	case t > 0:
		timeout = time.Duration(t) * time.Second
	case t == -1:
		timeout = 0
	}
	args := splitArgs(q.str("appArgs"))
	context, priority := q.str("context"), q.int("priority", 1)
	c.addTimer(s.after(0, func() {
		s.ringOutbound(c, resource, false, timeout, func() {
			if app != "" {
				s.enterStasis(c, app, args, true)
				return
			}
			if context == "" {
				context = "default"
			}
			c.dp = dialplan{context: context, exten: exten, priority: max(priority, 1)}
		})
	}))
	return ok(snapshot)
}

func (e *endpoint) context() string {
	if e.b.Context != "" {
		return e.b.Context
	}
	return "agents"
}

func (s *Server) channelsCreate(q *request) response {
	if q.str("originator") != "" && q.str("formats") != "" {
		return errMsg(http.StatusBadRequest, "Originator and formats can't both be specified")
	}
	id := q.str("channelId")
	if id != "" && s.channels[id] != nil {
		return errMsg(http.StatusConflict, "Channel with given unique ID already exists")
	}
	tech, resource, _ := strings.Cut(q.str("endpoint"), "/")
	ep := s.endpointFor(tech, resource)
	if ep == nil {
		return allocFailed()
	}
	c := s.newPJSIPChannel(ep, id)
	c.kind = kindCreated
	c.protocolID = ""
	c.pvtCallID = s.uuid()
	c.dialstr = resource
	c.dp = dialplan{context: ep.context(), exten: "s", priority: 1}
	vars, resp, good := bodyVariables(q)
	if !good {
		return resp
	}
	for k, v := range vars {
		c.vars[k] = v
	}
	snapshot := c.json()
	app, args := q.str("app"), splitArgs(q.str("appArgs"))
	c.addTimer(s.after(0, func() {
		c.app = app
		c.dp.appName = "Stasis"
		c.dp.appData = strings.Join(append([]string{app}, args...), ",")
		s.chanEvent("ChannelDialplan", c, kv{"dialplan_app", "Stasis"}, kv{"dialplan_app_data", c.dp.appData})
		s.enterStasis(c, app, args, true)
	}))
	return ok(snapshot)
}

func (s *Server) channelsDial(q *request) response {
	c, resp, good := s.findControl(q.str("channelId"))
	if !good {
		return resp
	}
	if c.state != "Down" {
		return errMsg(http.StatusConflict, "Channel is not in the 'Down' state")
	}
	if c.kind != kindCreated || c.dialstr == "" {
		return errMsg(http.StatusConflict, "Dialing a channel not created by ARI")
	}
	if caller := s.channels[q.str("caller")]; caller != nil {
		c.connected = caller.caller
		c.language = caller.language
	}
	timeout := time.Duration(q.int("timeout", 0)) * time.Second
	dialstr := c.dialstr
	c.dialstr = ""
	c.addTimer(s.after(0, func() {
		s.ringOutbound(c, dialstr, true, timeout, nil)
	}))
	return noContent()
}

var hangupReasons = map[string]int{
	"normal": 16, "busy": 17, "congestion": 34, "no_answer": 19, "timeout": 19, "rejected": 21,
	"unallocated": 1, "normal_unspecified": 31, "number_incomplete": 28, "codec_mismatch": 58,
	"interworking": 127, "failure": 38, "answered_elsewhere": 26,
}

func (s *Server) channelsHangup(q *request) response {
	c := s.channels[q.str("channelId")]
	if c == nil {
		return errMsg(http.StatusNotFound, "Channel not found")
	}
	cause := 16
	code, reason := q.str("reason_code"), q.str("reason")
	switch {
	case code != "" && reason != "":
		return errMsg(http.StatusBadRequest, "Only one of 'reason_code' and 'reason' can be specified")
	case code != "":
		n, err := strconv.Atoi(code)
		if err != nil {
			return errMsg(http.StatusBadRequest, "Invalid reason_code specified")
		}
		cause = n
	case reason != "":
		cause = hangupReasons[reason]
	}
	if c.kind == kindOriginated && !c.inStasis && !c.answered {
		// Hanging up a dialling leg: it never reached Stasis.
		c.dialTimer.stopLocked(s)
		s.emitHangupRequest(c, []kv{{"cause", 32}, {"soft", true}})
		s.emitDestroyed(c, cause, 0)
		s.destroy(c)
		return noContent()
	}
	s.hangup(c, hangAPI, cause, 0)
	return noContent()
}

func (s *Server) channelsContinue(q *request) response {
	c, resp, good := s.controlled(q.str("channelId"))
	if !good {
		return resp
	}
	context, exten := q.str("context"), q.str("extension")
	if context == "" {
		context = c.dp.context
		if exten == "" {
			exten = c.dp.exten
		}
	} else if exten == "" {
		exten = "s"
	}
	prio := 1
	switch label := q.str("label"); {
	case label != "":
		n, err := strconv.Atoi(label)
		if err != nil {
			return errMsg(http.StatusNotFound, "Requested label can not be found")
		}
		if n == 0 {
			return errMsg(http.StatusBadRequest, "Requested priority is illegal")
		}
		prio = n
	case q.int("priority", 0) != 0:
		prio = q.int("priority", 0)
	case q.str("context") == "" && q.str("extension") == "":
		prio = c.dp.priority + 1
	}
	c.addTimer(s.after(0, func() {
		if c.gone || !c.inStasis {
			return
		}
		if c.bridge != nil {
			s.leaveBridge(c)
		}
		c.inStasis = false
		s.chanEvent("StasisEnd", c)
		c.app = ""
		c.dp = dialplan{context: context, exten: exten, priority: prio}
	}))
	return noContent()
}

func (s *Server) channelsAnswer(q *request) response {
	c, resp, good := s.controlled(q.str("channelId"))
	if !good {
		return resp
	}
	if c.state != "Up" {
		c.answered = true
		if c.kind == kindInbound {
			s.stats.CallsAnswered++
		}
		s.emitStateChange(c, "Up")
		s.scriptOnAnswer(c)
	}
	return noContent()
}

// channelsNoEvent covers ring, hold, mute, MOH, silence, DTMF and progress:
// Asterisk validates the channel and answers 204 without any event.
func (s *Server) channelsNoEvent(q *request) response {
	_, resp, good := s.controlled(q.str("channelId"))
	if !good {
		return resp
	}
	return noContent()
}

func (s *Server) channelsSendDTMF(q *request) response {
	_, resp, good := s.controlled(q.str("channelId"))
	if !good {
		return resp
	}
	if q.str("dtmf") == "" {
		return errMsg(http.StatusBadRequest, "DTMF is required")
	}
	return noContent()
}

func (s *Server) channelsPlay(q *request) response {
	c, resp, good := s.controlled(q.str("channelId"))
	if !good {
		return resp
	}
	return s.startPlay(q, c.language, func(p *playback) { p.ch = c })
}

// startPlay queues the media of a play request (channel or bridge) as Asterisk does: a playback id already in use is a 500,
// the language defaults to the target's.
func (s *Server) startPlay(q *request, defaultLang string, target func(*playback)) response {
	id := q.str("playbackId")
	if id == "" {
		id = s.uuid()
	}
	if s.playbacks[id] != nil {
		return errMsg(http.StatusInternalServerError, "Failed to queue media for playback")
	}
	lang := q.str("lang")
	if lang == "" {
		lang = defaultLang
	}
	p := &playback{id: id, media: q.list("media"), language: lang, state: "queued", skipms: q.int("skipms", 3000)}
	target(p)
	snapshot := p.json()
	s.queuePlayback(p)
	return response{status: http.StatusCreated, body: snapshot, location: "/playbacks/" + id}
}

func (s *Server) newRecording(q *request) (*liveRecording, response, bool) {
	name, format := q.str("name"), q.str("format")
	if !knownFormats[format] {
		return nil, errMsg(http.StatusUnprocessableEntity, "specified format is unknown on this system"), false
	}
	if strings.Contains(name, "..") || strings.HasPrefix(name, "/") {
		return nil, errMsg(http.StatusBadRequest, "Recording name invalid"), false
	}
	ifExists := q.str("ifExists")
	_, stored := s.stored[name]
	if s.liveRecs[name] != nil || stored && (ifExists == "" || ifExists == "fail") {
		return nil, errMsg(http.StatusConflict, fmt.Sprintf("Recording '%s' already exists and can not be overwritten", name)), false
	}
	r := &liveRecording{name: name, format: format, state: "queued"}
	if stored && ifExists == "append" {
		r.appendTo = s.stored[name].length
	}
	return r, response{}, true
}

func (s *Server) channelsRecord(q *request) response {
	c, resp, good := s.findControl(q.str("channelId"))
	if !good {
		return resp
	}
	r, resp, good := s.newRecording(q)
	if !good {
		return resp
	}
	r.ch = c
	c.recording = r
	snapshot := r.json()
	s.startRecording(r, q.bool("beep", false), q.int("maxDurationSeconds", 0))
	return response{status: http.StatusCreated, body: snapshot, location: "/recordings/live/" + urlEscape(r.name)}
}

// readFunction evaluates the dialplan functions the transcripts use.
func (s *Server) readFunction(c *channel, expr string) (string, bool) {
	fn, arg, _ := strings.Cut(strings.TrimSuffix(expr, ")"), "(")
	switch strings.ToUpper(fn) {
	case "CALLERID":
		switch strings.ToLower(arg) {
		case "num", "number":
			return c.caller.number, true
		case "name":
			return c.caller.name, true
		case "all":
			if c.caller.name == "" {
				return "<" + c.caller.number + ">", true
			}
			return fmt.Sprintf("%q <%s>", c.caller.name, c.caller.number), true
		}
		return "", false
	case "CONNECTEDLINE":
		switch strings.ToLower(arg) {
		case "num", "number":
			return c.connected.number, true
		case "name":
			return c.connected.name, true
		}
		return "", false
	case "CHANNEL":
		switch arg {
		case "name":
			return c.name, true
		case "uniqueid":
			return c.id, true
		case "state":
			return c.state, true
		case "language":
			return c.language, true
		case "endpoint":
			if c.endpoint != nil {
				return c.endpoint.resource, true
			}
			return "", true
		case "audioreadformat", "audionativeformat", "audiowriteformat":
			if c.kind == kindInbound {
				return "alaw", true
			}
			return "ulaw", true
		case "pjsip,remote_addr":
			if c.tech == "PJSIP" {
				return "127.0.0.1:5080", true
			}
		}
		return "", false
	case "PJSIP_HEADER":
		if c.tech != "PJSIP" {
			return "", false
		}
		action, header, _ := strings.Cut(arg, ",")
		if action != "read" {
			return "", false
		}
		if v, found := c.funcs["PJSIP_HEADER(read,"+strings.ToLower(header)+")"]; found {
			return v, true
		}
		if strings.EqualFold(header, "To") && c.kind == kindInbound {
			return "<sip:" + c.dp.exten + "@127.0.0.1>", true
		}
		return "", true
	}
	return "", false
}

func (s *Server) channelsSnoop(q *request) response {
	target := s.channels[q.str("channelId")]
	if target == nil {
		return errMsg(http.StatusNotFound, "Provided channel was not found")
	}
	spy, whisper := q.str("spy"), q.str("whisper")
	if (spy == "" || spy == "none") && (whisper == "" || whisper == "none") {
		return errMsg(http.StatusBadRequest, "Direction must be specified for at least spy or whisper")
	}
	id := q.str("snoopId")
	if id == "" {
		id = s.nextUniqueID()
	} else if s.channels[id] != nil {
		return errMsg(http.StatusInternalServerError, "Snoop channel could not be created")
	}
	c := &channel{
		id:       id,
		name:     fmt.Sprintf("Snoop/%s-%08x", target.id, s.snoopSeq),
		state:    "Up",
		created:  s.now(),
		language: "en",
		vars:     map[string]string{},
		funcs:    map[string]string{},
		tech:     "Snoop",
		kind:     kindSnoop,
		peerVal:  map[string]string{},
		answered: true,
		snoopOf:  target,
		dp:       dialplan{context: "default", exten: "s", priority: 1},
	}
	s.snoopSeq++
	s.channels[id] = c
	target.snoops = append(target.snoops, c)
	snapshot := c.json()
	app, args := q.str("app"), splitArgs(q.str("appArgs"))
	c.app = app
	c.addTimer(s.after(0, func() {
		if target.bridge != nil {
			s.bridgeChanged(target.bridge, true)
		}
		s.enterStasis(c, app, args, false)
	}))
	return ok(snapshot)
}

var mediaFormats = map[string]bool{"ulaw": true, "alaw": true, "slin": true, "slin16": true, "g722": true, "opus": true, "gsm": true}

func (s *Server) channelsExternalMedia(q *request) response {
	vars, resp, good := bodyVariables(q)
	if !good {
		return resp
	}
	encap, transport := q.str("encapsulation"), q.str("transport")
	if encap == "" {
		encap = "rtp"
	}
	if transport == "" {
		transport = "udp"
	}
	host := q.str("external_host")
	if transport != "websocket" && host == "" {
		return errMsg(http.StatusBadRequest, "external_host is required for all but websocket")
	}
	if encap != "rtp" || transport != "udp" {
		return errMsg(http.StatusNotImplemented, "Method not implemented")
	}
	format := q.str("format")
	if !mediaFormats[format] {
		return errMsg(http.StatusBadRequest, "Unknown format "+format)
	}
	id := q.str("channelId")
	if id != "" && s.channels[id] != nil {
		return errMsg(http.StatusConflict, "Channel with given unique ID already exists")
	}
	if id == "" {
		id = s.nextUniqueID()
	}
	rtp, err := s.startRTP(host, id)
	if err != nil {
		return allocFailed()
	}
	local := rtp.localAddr()
	c := &channel{
		id:       id,
		name:     fmt.Sprintf("UnicastRTP/%s-0x%x", host, 0x7fbc60000000+uint64(s.rng.Uint32()&0xffffff0)),
		state:    "Down",
		created:  s.now(),
		language: "en",
		vars:     map[string]string{"UNICASTRTP_LOCAL_ADDRESS": local.IP.String(), "UNICASTRTP_LOCAL_PORT": strconv.Itoa(local.Port)},
		funcs:    map[string]string{},
		tech:     "UnicastRTP",
		kind:     kindExternal,
		peerVal:  map[string]string{},
		rtp:      rtp,
		dp:       dialplan{context: "default", exten: "s", priority: 1, appName: "AppDial2", appData: "(Outgoing Line)"},
	}
	for k, v := range vars {
		c.vars[k] = v
	}
	s.channels[id] = c
	snapshot := c.json()
	snapshot.Channelvars = map[string]string{"UNICASTRTP_LOCAL_PORT": c.vars["UNICASTRTP_LOCAL_PORT"], "UNICASTRTP_LOCAL_ADDRESS": c.vars["UNICASTRTP_LOCAL_ADDRESS"]}
	app, args := q.str("app"), splitArgs(q.str("data"))
	c.app = app
	dialstring := host + "/c(" + format + ")"
	c.addTimer(s.after(0, func() {
		s.emitDial(c, "", dialstring)
		c.answered = true
		s.emitStateChange(c, "Up")
		s.emitDial(c, "ANSWER", dialstring)
		s.enterStasis(c, app, args, true)
	}))
	return ok(snapshot)
}

func urlEscape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		ch := s[i]
		if ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z' || ch >= '0' && ch <= '9' || strings.IndexByte("-_.~", ch) >= 0 {
			b.WriteByte(ch)
		} else {
			fmt.Fprintf(&b, "%%%02X", ch)
		}
	}
	return b.String()
}
