package arisim

import "time"

// fieldOrder selects where Asterisk puts type/timestamp/application in an
// event: it differs by event type (see the transcripts).
type fieldOrder int

const (
	orderNormal      fieldOrder = iota // type, timestamp, fields, asterisk_id, application
	orderFieldsFirst                   // pre, type, timestamp, fields, asterisk_id, application (ChannelHangupRequest)
	orderAppFirst                      // type, application, timestamp, fields, asterisk_id (DeviceStateChanged)
	orderAppBeforeID                   // type, timestamp, application, asterisk_id (ApplicationReplaced)
	orderVarset                        // variable, value, type, timestamp, fields, asterisk_id, application (ChannelVarset)
)

// event is an event before it is addressed to an application.
type event struct {
	typ    string
	ts     time.Time
	pre    []kv // members before "type" (orderFieldsFirst)
	fields []kv
	// ch, if set, is a last member "channel" after fields: most events
	// carry one, and a kv list of it would be an allocation.
	ch *channel
	// variable and value are ChannelVarset's first members (orderVarset),
	// without the allocations of a pre list of two boxed strings.
	variable, value string
	order           fieldOrder
}

// appendJSON appends e, addressed to app, as Asterisk writes it: the
// members in the order e.order gives (see the transcripts), ts being
// astTime(e.ts). It writes what appendJSON of the equivalent obj would,
// without building one (TestEventJSONMatchesObj).
func (e *event) appendJSON(b []byte, ts, app, asteriskID string) ([]byte, error) {
	var err error
	switch e.order {
	case orderVarset:
		b = appendField(appendField(b, '{', "variable", e.variable), ',', "value", e.value)
		b = appendField(appendField(b, ',', "type", e.typ), ',', "timestamp", ts)
		if b, err = e.appendFields(b); err != nil {
			return nil, err
		}
		b = appendField(appendField(b, ',', "asterisk_id", asteriskID), ',', "application", app)
	case orderFieldsFirst:
		sep := byte('{')
		if b, sep, err = appendMembers(b, sep, e.pre); err != nil {
			return nil, err
		}
		b = appendField(appendField(b, sep, "type", e.typ), ',', "timestamp", ts)
		if b, err = e.appendFields(b); err != nil {
			return nil, err
		}
		b = appendField(appendField(b, ',', "asterisk_id", asteriskID), ',', "application", app)
	case orderAppFirst:
		b = appendField(appendField(appendField(b, '{', "type", e.typ), ',', "application", app), ',', "timestamp", ts)
		if b, err = e.appendFields(b); err != nil {
			return nil, err
		}
		b = appendField(b, ',', "asterisk_id", asteriskID)
	case orderAppBeforeID:
		b = appendField(appendField(b, '{', "type", e.typ), ',', "timestamp", ts)
		b = appendField(appendField(b, ',', "application", app), ',', "asterisk_id", asteriskID)
	default:
		b = appendField(appendField(b, '{', "type", e.typ), ',', "timestamp", ts)
		if b, err = e.appendFields(b); err != nil {
			return nil, err
		}
		b = appendField(appendField(b, ',', "asterisk_id", asteriskID), ',', "application", app)
	}
	return append(b, '}'), nil
}

// appendFields writes e's fields, then its channel, each after a ','.
func (e *event) appendFields(b []byte) ([]byte, error) {
	b, _, err := appendMembers(b, ',', e.fields)
	if err != nil || e.ch == nil {
		return b, err
	}
	j := e.ch.json()
	return appendChannel(appendKey(b, ',', "channel"), &j), nil
}

// appendMembers writes each member of list preceded by sep, then ','; it
// returns the separator for the next member.
func appendMembers(b []byte, sep byte, list []kv) ([]byte, byte, error) {
	for _, m := range list {
		b = append(appendString(append(b, sep), m.K), ':')
		var err error
		if b, err = appendJSON(b, m.V); err != nil {
			return nil, sep, err
		}
		sep = ','
	}
	return b, sep, nil
}

// liveChannel and liveBridge stand in an event for the snapshot of a
// channel or bridge, taken when the event is encoded, which publish does at
// once: a pointer boxed in an interface costs no allocation, a snapshot
// struct does, and events are mostly snapshots.
type (
	liveChannel struct{ c *channel }
	liveBridge  struct{ b *bridge }
)

// channelID is the id of the channel the event is about ("" for none).
func (e *event) channelID() string {
	if e.ch != nil {
		return e.ch.id
	}
	for _, f := range e.fields {
		if f.K == "channel" {
			switch c := f.V.(type) {
			case channelJSON:
				return c.ID
			case liveChannel:
				return c.c.id
			}
		}
	}
	return ""
}

// timestamp is astTime(t), formatted once per millisecond: events come in
// bursts that share it. Caller holds s.mu.
func (s *Server) timestamp(t time.Time) string {
	if ms := t.UnixMilli(); ms != s.tsMilli || s.tsText == "" {
		s.tsMilli, s.tsText = ms, astTime(t)
	}
	return s.tsText
}

// publish delivers e to each named app that has a websocket. Caller holds s.mu.
func (s *Server) publish(e *event, apps []string) {
	if e.ts.IsZero() {
		e.ts = s.now()
	}
	if s.cfg.OnEvent != nil {
		if id := e.channelID(); id != "" {
			s.cfg.OnEvent(e.typ, id, time.Now())
		}
	}
	ts := s.timestamp(e.ts)
	for _, name := range apps {
		reg := s.apps[name]
		if reg == nil || reg.conn == nil {
			s.stats.EventsDropped++
			continue
		}
		// Asterisk checks the application's filter right before it writes the event to the websocket: a filtered event
		// is never encoded.
		if !reg.filter.passes(e.typ) {
			s.stats.EventsFiltered++
			continue
		}
		// Encode into a buffer reused under s.mu; enqueue copies it into
		// the connection's queue.
		buf, err := e.appendJSON(s.eventBuf[:0], ts, name, s.cfg.AsteriskID)
		if err != nil {
			s.log.Error("arisim: encode event", "type", e.typ, "err", err)
			continue
		}
		s.eventBuf = buf
		if reg.conn.enqueue(buf) {
			s.stats.EventsSent++
		} else {
			s.stats.SlowConsumers++
			s.log.Warn("arisim: dropping slow events websocket", "app", name)
			s.dropConnLocked(reg.conn)
		}
	}
}

// appsFor returns the apps interested in a channel and/or bridge, plus the
// apps subscribed to everything, without duplicates and in a stable order.
// The list is valid until the next call (publish takes it at once). Caller
// holds s.mu.
func (s *Server) appsFor(chs []*channel, brs []*bridge) []string {
	out := s.appsBuf[:0]
	defer func() { s.appsBuf = out[:0] }()
	add := func(a string) {
		if a == "" {
			return
		}
		for _, x := range out {
			if x == a {
				return
			}
		}
		out = append(out, a)
	}
	for _, c := range chs {
		if c != nil {
			add(c.app)
		}
	}
	for _, b := range brs {
		if b != nil {
			add(b.app)
		}
	}
	for _, name := range s.appNames {
		reg := s.apps[name]
		if reg.subscribeAll {
			add(name)
			continue
		}
		for _, c := range chs {
			if c != nil && reg.channels[c.id] {
				add(name)
			}
		}
		for _, b := range brs {
			if b != nil && reg.bridges[b.id] {
				add(name)
			}
		}
	}
	return out
}

func (s *Server) chanEvent(typ string, c *channel, fields ...kv) {
	s.publish(&event{typ: typ, fields: fields, ch: c}, s.appsFor([]*channel{c}, nil))
}

func (s *Server) emitStateChange(c *channel, state string) {
	c.state = state
	s.chanEvent("ChannelStateChange", c)
}

// emitVarset sets a channel variable and reports it (ChannelVarset).
func (s *Server) emitVarset(c *channel, name, value string) {
	c.vars[name] = value
	s.varsetEvent(c, name, value)
}

// varsetEvent reports a variable set on c without storing it: for a channel
// destroyed under this same hold of s.mu, where nothing can read it back.
func (s *Server) varsetEvent(c *channel, name, value string) {
	s.publish(&event{typ: "ChannelVarset", order: orderVarset, variable: name, value: value, ch: c},
		s.appsFor([]*channel{c}, nil))
}

func (s *Server) emitHangupRequest(c *channel, pre []kv) {
	s.publish(&event{typ: "ChannelHangupRequest", order: orderFieldsFirst, pre: pre, ch: c},
		s.appsFor([]*channel{c}, nil))
}

func (s *Server) emitDial(peer *channel, status, dialstring string) {
	s.publish(&event{typ: "Dial", fields: []kv{
		{"dialstatus", status}, {"forward", ""}, {"dialstring", dialstring}, {"peer", liveChannel{peer}},
	}}, s.appsFor([]*channel{peer}, nil))
}

func (s *Server) emitStasisStart(c *channel, args []string) {
	if args == nil {
		args = []string{}
	}
	s.chanEvent("StasisStart", c, kv{"args", args})
}

func (s *Server) emitDestroyed(c *channel, cause int, techCause int) {
	f := []kv{{"cause", cause}, {"cause_txt", causeText(cause)}}
	if techCause != 0 {
		f = append(f, kv{"tech_cause", techCause})
	}
	s.chanEvent("ChannelDestroyed", c, f...)
}

func (s *Server) emitBridgeEvent(typ string, b *bridge, c *channel) {
	s.publish(&event{typ: typ, fields: []kv{{"bridge", liveBridge{b}}}, ch: c}, s.appsFor([]*channel{c}, []*bridge{b}))
}

func (s *Server) emitPlayback(typ string, p *playback) {
	var apps []string
	if p.br != nil {
		apps = s.appsFor(nil, []*bridge{p.br})
	} else {
		apps = s.appsFor([]*channel{p.ch}, nil)
	}
	s.publish(&event{typ: typ, fields: []kv{{"playback", p.json()}}}, apps)
}

func (s *Server) emitRecording(typ string, r *liveRecording, duration *int) {
	var apps []string
	if r.br != nil {
		apps = s.appsFor(nil, []*bridge{r.br})
	} else {
		apps = s.appsFor([]*channel{r.ch}, nil)
	}
	j := r.json()
	j.Duration = duration
	s.publish(&event{typ: typ, fields: []kv{{"recording", j}}}, apps)
}

// causeText is ast_cause2str for the causes the emulator produces.
func causeText(cause int) string {
	switch cause {
	case 0:
		return "Unknown"
	case 1:
		return "Unallocated (unassigned) number"
	case 16:
		return "Normal Clearing"
	case 17:
		return "User busy"
	case 18:
		return "No user responding"
	case 19:
		return "User alerting, no answer"
	case 21:
		return "Call Rejected"
	case 26:
		return "Answered elsewhere"
	case 27:
		return "Destination out of order"
	case 31:
		return "Normal, unspecified"
	case 34:
		return "Circuit/channel congestion"
	case 38:
		return "Network out of order"
	case 41:
		return "Temporary failure"
	case 58:
		return "Bearer capability not available"
	case 127:
		return "Interworking, unspecified"
	}
	return "Unknown"
}
