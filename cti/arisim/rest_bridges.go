package arisim

import (
	"net/http"
)

func init() {
	for id, h := range map[string]handlerFunc{
		"bridges.list":          (*Server).bridgesList,
		"bridges.create":        (*Server).bridgesCreate,
		"bridges.createWithId":  (*Server).bridgesCreate,
		"bridges.get":           (*Server).bridgesGet,
		"bridges.destroy":       (*Server).bridgesDestroy,
		"bridges.addChannel":    (*Server).bridgesAddChannel,
		"bridges.removeChannel": (*Server).bridgesRemoveChannel,
		"bridges.startMoh":      (*Server).bridgesStartMoh,
		"bridges.stopMoh":       (*Server).bridgesStopMoh,
		"bridges.play":          (*Server).bridgesPlay,
		"bridges.playWithId":    (*Server).bridgesPlay,
		"bridges.record":        (*Server).bridgesRecord,
	} {
		handlers[id] = h
	}
}

func (s *Server) findBridge(id string) (*bridge, response, bool) {
	b := s.bridges[id]
	if b == nil {
		return nil, errMsg(http.StatusNotFound, "Bridge not found"), false
	}
	return b, response{}, true
}

func (s *Server) bridgesList(q *request) response {
	list := make([]bridgeJSON, 0, len(s.bridges))
	for _, id := range sortedKeys(s.bridges) {
		list = append(list, s.bridges[id].json())
	}
	return ok(list)
}

func (s *Server) bridgesGet(q *request) response {
	b, resp, good := s.findBridge(q.str("bridgeId"))
	if !good {
		return resp
	}
	return ok(b.json())
}

func (s *Server) bridgesCreate(q *request) response {
	id := q.str("bridgeId")
	if id != "" && s.bridges[id] != nil {
		return errMsg(http.StatusConflict, "Bridge with id '"+id+"' already exists")
	}
	if id == "" {
		id = s.uuid()
	}
	// Like stasis_app_bridge_create: unknown attributes are ignored, but a
	// bridge must be mixing or holding, not both (default mixing).
	types := q.list("type")
	if len(types) == 0 {
		types = []string{"mixing"}
	}
	mixing, holding := contains(types, "mixing"), contains(types, "holding")
	if mixing == holding {
		return errMsg(http.StatusInternalServerError, "Unable to create bridge")
	}
	typ := "mixing"
	if holding {
		typ = "holding"
	}
	b := &bridge{id: id, name: q.str("name"), typ: typ, creator: "Stasis", created: s.now()}
	s.bridges[id] = b
	return ok(b.json())
}

func (s *Server) bridgesDestroy(q *request) response {
	b, resp, good := s.findBridge(q.str("bridgeId"))
	if !good {
		return resp
	}
	s.destroyBridge(b)
	return noContent()
}

// bridgeChannels mirrors control_list_create: 400 for an unknown channel,
// 422 for one not in Stasis.
func (s *Server) bridgeChannels(q *request) ([]*channel, response, bool) {
	var out []*channel
	for _, id := range q.list("channel") {
		c := s.channels[id]
		if c == nil {
			return nil, errMsg(http.StatusBadRequest, "Channel not found"), false
		}
		if !c.inStasis {
			return nil, errMsg(http.StatusUnprocessableEntity, "Channel not in Stasis application"), false
		}
		out = append(out, c)
	}
	if len(out) == 0 {
		return nil, errMsg(http.StatusBadRequest, "Missing parameter channel"), false
	}
	return out, response{}, true
}

func (s *Server) bridgesAddChannel(q *request) response {
	b, resp, good := s.findBridge(q.str("bridgeId"))
	if !good {
		return resp
	}
	chs, resp, good := s.bridgeChannels(q)
	if !good {
		return resp
	}
	inhibit := q.bool("inhibitConnectedLineUpdates", false)
	for _, c := range chs {
		if b.app == "" {
			b.app = c.app
		}
		c.inhibitCL = inhibit
		c.addTimer(s.after(0, func() {
			if !c.gone && s.bridges[b.id] == b {
				s.joinBridge(c, b)
			}
		}))
	}
	return noContent()
}

func (s *Server) bridgesRemoveChannel(q *request) response {
	b, resp, good := s.findBridge(q.str("bridgeId"))
	if !good {
		return resp
	}
	chs, resp, good := s.bridgeChannels(q)
	if !good {
		return resp
	}
	for _, c := range chs {
		if c.bridge != b {
			return errMsg(http.StatusUnprocessableEntity, "Channel not in this bridge")
		}
	}
	for _, c := range chs {
		s.leaveBridge(c)
	}
	return noContent()
}

func (s *Server) bridgesStartMoh(q *request) response {
	b, resp, good := s.findBridge(q.str("bridgeId"))
	if !good {
		return resp
	}
	if b.mohName == "" {
		b.mohName = s.unrealName("Announcer/ARI_MOH")
		s.bridgeChanged(b, false)
	}
	return noContent()
}

func (s *Server) bridgesStopMoh(q *request) response {
	b, resp, good := s.findBridge(q.str("bridgeId"))
	if !good {
		return resp
	}
	if b.mohName == "" {
		return errMsg(http.StatusConflict, "Bridge isn't playing music")
	}
	b.mohName = ""
	s.bridgeChanged(b, false)
	return noContent()
}

func (s *Server) bridgesPlay(q *request) response {
	b, resp, good := s.findBridge(q.str("bridgeId"))
	if !good {
		return resp
	}
	return s.startPlay(q, "en", func(p *playback) { p.br = b })
}

func (s *Server) bridgesRecord(q *request) response {
	b, resp, good := s.findBridge(q.str("bridgeId"))
	if !good {
		return resp
	}
	r, resp, good := s.newRecording(q)
	if !good {
		return resp
	}
	r.br = b
	b.recording = r
	b.recorderName = s.unrealName("Recorder/ARI")
	s.bridgeChanged(b, false)
	snapshot := r.json()
	s.startRecording(r, q.bool("beep", false), q.int("maxDurationSeconds", 0))
	return response{status: http.StatusCreated, body: snapshot, location: "/recordings/live/" + urlEscape(r.name)}
}
