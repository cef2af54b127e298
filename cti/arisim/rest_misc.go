package arisim

import (
	"io"
	"net/http"
	"sort"
	"strings"
	"time"
)

func init() {
	for id, h := range map[string]handlerFunc{
		"playbacks.get":            (*Server).playbacksGet,
		"playbacks.stop":           (*Server).playbacksStop,
		"playbacks.control":        (*Server).playbacksControl,
		"recordings.listStored":    (*Server).recordingsListStored,
		"recordings.getStored":     (*Server).recordingsGetStored,
		"recordings.deleteStored":  (*Server).recordingsDeleteStored,
		"recordings.getStoredFile": (*Server).recordingsGetStoredFile,
		"recordings.copyStored":    (*Server).recordingsCopyStored,
		"recordings.getLive":       (*Server).recordingsGetLive,
		"recordings.cancel":        recordingOp("cancel"),
		"recordings.stop":          recordingOp("stop"),
		"recordings.pause":         recordingOp("pause"),
		"recordings.unpause":       recordingOp("unpause"),
		"recordings.mute":          recordingOp("mute"),
		"recordings.unmute":        recordingOp("unmute"),
		"endpoints.list":           (*Server).endpointsList,
		"endpoints.listByTech":     (*Server).endpointsList,
		"endpoints.get":            (*Server).endpointsGet,
		"deviceStates.list":        (*Server).deviceStatesList,
		"deviceStates.get":         (*Server).deviceStatesGet,
		"deviceStates.update":      (*Server).deviceStatesUpdate,
		"deviceStates.delete":      (*Server).deviceStatesDelete,
		"applications.list":        (*Server).applicationsList,
		"applications.get":         (*Server).applicationsGet,
		"applications.subscribe":   (*Server).applicationsSubscribe,
		"applications.unsubscribe": (*Server).applicationsSubscribe,
		"asterisk.getInfo":         (*Server).asteriskInfo,
		"asterisk.ping":            (*Server).asteriskPing,
		"asterisk.listModules":     (*Server).asteriskModules,
		"asterisk.getModule":       (*Server).asteriskModule,
		"asterisk.getGlobalVar":    (*Server).asteriskGetVar,
		"asterisk.setGlobalVar":    (*Server).asteriskSetVar,
		"sounds.list":              (*Server).soundsList,
		"sounds.get":               (*Server).soundsGet,
		"mailboxes.list":           func(*Server, *request) response { return ok([]any{}) },
		"mailboxes.get":            mailboxMissing,
		"mailboxes.delete":         mailboxMissing,
		"events.userEvent":         (*Server).eventsUserEvent,
	} {
		handlers[id] = h
	}
}

func mailboxMissing(*Server, *request) response {
	return errMsg(http.StatusNotFound, "Mailbox not found")
}

// ---- playbacks ----

func (s *Server) playbacksGet(q *request) response {
	p := s.playbacks[q.str("playbackId")]
	if p == nil {
		return errMsg(http.StatusNotFound, "Playback not found")
	}
	return ok(p.json())
}

func (s *Server) playbacksStop(q *request) response {
	p := s.playbacks[q.str("playbackId")]
	if p == nil {
		return errMsg(http.StatusNotFound, "Playback not found")
	}
	s.finishPlayback(p, "done")
	return noContent()
}

func (s *Server) playbacksControl(q *request) response {
	p := s.playbacks[q.str("playbackId")]
	if p == nil {
		return errMsg(http.StatusNotFound, "Playback not found")
	}
	return s.controlPlayback(p, q.str("operation"))
}

// ---- recordings ----

func (s *Server) recordingsListStored(q *request) response {
	list := make([]storedRecordingJSON, 0, len(s.stored))
	for _, name := range sortedKeys(s.stored) {
		list = append(list, storedRecordingJSON{name, s.stored[name].format})
	}
	return ok(list)
}

func (s *Server) recordingsGetStored(q *request) response {
	r := s.stored[q.str("recordingName")]
	if r == nil {
		return errMsg(http.StatusNotFound, "Recording not found")
	}
	return ok(storedRecordingJSON{r.name, r.format})
}

func (s *Server) recordingsDeleteStored(q *request) response {
	name := q.str("recordingName")
	if s.stored[name] == nil {
		return errMsg(http.StatusNotFound, "Recording not found")
	}
	delete(s.stored, name)
	return noContent()
}

func (s *Server) recordingsGetStoredFile(q *request) response {
	r := s.stored[q.str("recordingName")]
	if r == nil {
		return errMsg(http.StatusNotFound, "Recording not found")
	}
	// Streamed after the lock is released, not rendered under it.
	length := r.length
	return response{status: http.StatusOK, contentType: "audio/wav", size: wavSize(length),
		stream: func(w io.Writer) error { return writeWAV(w, length) }}
}

// recordingsCopyStored copies a stored recording. Asterisk treats the text
// after the last dot of the destination as a file extension, so
// "copy-1795352037.11" is stored as "copy-1795352037" (see i-channel-controls).
func (s *Server) recordingsCopyStored(q *request) response {
	src := s.stored[q.str("recordingName")]
	if src == nil {
		return errMsg(http.StatusNotFound, "Recording not found")
	}
	dst := q.str("destinationRecordingName")
	if strings.Contains(dst, "..") || strings.HasPrefix(dst, "/") {
		return errMsg(http.StatusBadRequest, "Invalid destination recording name")
	}
	if s.stored[dst] != nil {
		return errMsg(http.StatusConflict, "A recording with the same name already exists on the system")
	}
	if i := strings.LastIndex(dst, "."); i > 0 && !strings.Contains(dst[i:], "/") {
		dst = dst[:i]
	}
	if s.stored[dst] != nil {
		return errMsg(http.StatusConflict, "A recording with the same name already exists on the system")
	}
	s.stored[dst] = &storedRecording{name: dst, format: src.format, length: src.length}
	return ok(storedRecordingJSON{dst, src.format})
}

func (s *Server) recordingsGetLive(q *request) response {
	r := s.liveRecs[q.str("recordingName")]
	if r == nil {
		return errMsg(http.StatusNotFound, "Recording not found")
	}
	return ok(r.json())
}

func recordingOp(op string) handlerFunc {
	return func(s *Server, q *request) response {
		r := s.liveRecs[q.str("recordingName")]
		if r == nil {
			return errMsg(http.StatusNotFound, "Recording not found")
		}
		inSession := r.state == "recording" || r.state == "paused"
		if !inSession {
			return errMsg(http.StatusConflict, "Recording not in session")
		}
		switch op {
		case "stop":
			s.finishRecording(r, "done")
		case "cancel":
			s.finishRecording(r, "canceled")
		case "pause":
			if r.state == "recording" {
				r.state = "paused"
				r.pausedAt = time.Now()
			}
		case "unpause":
			if r.state == "paused" {
				r.pausedFor += time.Since(r.pausedAt)
				r.state = "recording"
			}
		}
		return noContent()
	}
}

// ---- endpoints ----

func (s *Server) endpointJSON(e *endpoint) endpointJSON {
	ids := []string{}
	for _, id := range sortedKeys(s.channels) {
		if s.channels[id].endpoint == e {
			ids = append(ids, id)
		}
	}
	return endpointJSON{e.tech, e.resource, e.state(), ids}
}

func (s *Server) endpointsList(q *request) response {
	tech := q.str("tech")
	list := []endpointJSON{}
	for _, id := range sortedKeys(s.endpoints) {
		e := s.endpoints[id]
		if tech == "" || e.tech == tech {
			list = append(list, s.endpointJSON(e))
		}
	}
	if tech != "" && len(list) == 0 {
		return errMsg(http.StatusNotFound, "No Endpoints found - invalid tech "+tech)
	}
	return ok(list)
}

func (s *Server) endpointsGet(q *request) response {
	e := s.endpoints[q.str("tech")+"/"+q.str("resource")]
	if e == nil {
		return errMsg(http.StatusNotFound, "Endpoint not found")
	}
	return ok(s.endpointJSON(e))
}

// ---- device states ----

func (s *Server) deviceStatesList(q *request) response {
	list := []deviceStateJSON{}
	for _, name := range sortedKeys(s.devices) {
		list = append(list, deviceStateJSON{name, s.devices[name]})
	}
	return ok(list)
}

func (s *Server) deviceStatesGet(q *request) response {
	name := q.str("deviceName")
	st, found := s.devices[name]
	if !found {
		st = "UNKNOWN"
	}
	return ok(deviceStateJSON{name, st})
}

func (s *Server) deviceStatesUpdate(q *request) response {
	name := q.str("deviceName")
	if !strings.HasPrefix(name, "Stasis:") {
		return errMsg(http.StatusConflict, "Uncontrolled device specified")
	}
	st := q.str("deviceState")
	s.devices[name] = st
	s.publishDeviceState(name, st)
	return noContent()
}

func (s *Server) deviceStatesDelete(q *request) response {
	name := q.str("deviceName")
	if !strings.HasPrefix(name, "Stasis:") {
		return errMsg(http.StatusConflict, "Uncontrolled device specified")
	}
	if _, found := s.devices[name]; !found {
		return errMsg(http.StatusNotFound, "Device not found")
	}
	delete(s.devices, name)
	return noContent()
}

func (s *Server) publishDeviceState(name, st string) {
	var apps []string
	for _, a := range s.appNames {
		if reg := s.apps[a]; reg.subscribeAll || reg.devices[name] {
			apps = append(apps, a)
		}
	}
	s.publish(&event{typ: "DeviceStateChanged", order: orderAppFirst,
		fields: []kv{{"device_state", deviceStateJSON{name, st}}}}, apps)
}

// ---- applications ----

func (s *Server) applicationJSON(reg *appReg) applicationJSON {
	j := applicationJSON{Name: reg.name, ChannelIDs: []string{}, BridgeIDs: []string{}, EndpointIDs: []string{},
		DeviceNames: []string{}, EventsAllowed: filterJSON(reg.filter.allowed), EventsDisallowed: filterJSON(reg.filter.disallowed)}
	for _, id := range sortedKeys(s.channels) {
		// Asterisk subscribes the application to a channel it originates with app= (stasis_app_subscribe_channel) before
		// dialling: the ringing leg is the application's (its Dial and ChannelStateChange events reach it) until it is gone
		// or sent on to the dialplan.
		if c := s.channels[id]; c.app == reg.name && (c.inStasis || c.kind == kindOriginated) || reg.channels[id] {
			j.ChannelIDs = append(j.ChannelIDs, id)
		}
	}
	for _, id := range sortedKeys(s.bridges) {
		if s.bridges[id].app == reg.name || reg.bridges[id] {
			j.BridgeIDs = append(j.BridgeIDs, id)
		}
	}
	j.EndpointIDs = append(j.EndpointIDs, sortedKeys(reg.endpoints)...)
	j.DeviceNames = append(j.DeviceNames, sortedKeys(reg.devices)...)
	return j
}

func (s *Server) applicationsList(q *request) response {
	list := []applicationJSON{}
	for _, name := range s.appNames {
		if reg := s.apps[name]; reg.conn != nil {
			list = append(list, s.applicationJSON(reg))
		}
	}
	return ok(list)
}

func (s *Server) applicationsGet(q *request) response {
	reg := s.apps[q.str("applicationName")]
	if reg == nil || reg.conn == nil {
		return errMsg(http.StatusNotFound, "Application not found")
	}
	return ok(s.applicationJSON(reg))
}

func (s *Server) applicationsSubscribe(q *request) response {
	reg := s.apps[q.str("applicationName")]
	if reg == nil || reg.conn == nil {
		return errMsg(http.StatusNotFound, "Application not found")
	}
	subscribe := q.op.Method == http.MethodPost
	type source struct {
		set map[string]bool
		key string
	}
	var todo []source
	for _, src := range q.list("eventSource") {
		scheme, rest, _ := strings.Cut(src, ":")
		switch scheme {
		case "endpoint":
			tech, res, _ := strings.Cut(rest, "/")
			found := false
			for _, e := range s.endpoints {
				if e.tech == tech && (res == "" || e.resource == res) {
					found = true
				}
			}
			if !found {
				return errMsg(http.StatusUnprocessableEntity, "Event source does not exist")
			}
			todo = append(todo, source{reg.endpoints, rest})
		case "deviceState":
			if rest == "" {
				return errMsg(http.StatusUnprocessableEntity, "Event source does not exist")
			}
			todo = append(todo, source{reg.devices, rest})
		case "channel":
			if s.channels[rest] == nil {
				return errMsg(http.StatusUnprocessableEntity, "Event source does not exist")
			}
			todo = append(todo, source{reg.channels, rest})
		case "bridge":
			if s.bridges[rest] == nil {
				return errMsg(http.StatusUnprocessableEntity, "Event source does not exist")
			}
			todo = append(todo, source{reg.bridges, rest})
		default:
			return errMsg(http.StatusBadRequest, "Invalid event source URI scheme")
		}
	}
	for _, t := range todo {
		if !subscribe && !t.set[t.key] {
			return errMsg(http.StatusConflict, "Application not subscribed to event source")
		}
	}
	for _, t := range todo {
		if subscribe {
			t.set[t.key] = true
		} else {
			delete(t.set, t.key)
		}
	}
	return ok(s.applicationJSON(reg))
}

// ---- asterisk ----

func (s *Server) asteriskInfo(q *request) response {
	only := q.list("only")
	want := func(k string) bool { return len(only) == 0 || contains(only, k) }
	var o obj
	if want("build") {
		o = append(o, kv{"build", obj{{"os", "Linux"}, {"kernel", "6.18.44-arisim"}, {"machine", "x86_64"},
			{"options", "OPTIONAL_API"}, {"date", s.start.UTC().Format("2006-01-02 15:04:05 UTC")}, {"user", "root"}}})
	}
	if want("system") {
		o = append(o, kv{"system", obj{{"version", s.cfg.Version}, {"entity_id", s.cfg.AsteriskID}}})
	}
	if want("config") {
		o = append(o, kv{"config", obj{{"name", ""}, {"default_language", "en"},
			{"setid", obj{{"user", ""}, {"group", ""}}}, {"max_open_files", 8192}}})
	}
	if want("status") {
		o = append(o, kv{"status", obj{{"startup_time", astTime(s.start)}, {"last_reload_time", astTime(s.start)}}})
	}
	if o == nil {
		o = obj{}
	}
	return ok(o)
}

func (s *Server) asteriskPing(q *request) response {
	return ok(obj{{"ping", "pong"}, {"timestamp", astTime(s.now())}, {"asterisk_id", s.cfg.AsteriskID}})
}

var modules = []obj{
	{{"name", "res_ari.so"}, {"description", "Asterisk RESTful Interface"}, {"use_count", 13}, {"status", "Running"}, {"support_level", "core"}},
	{{"name", "res_stasis.so"}, {"description", "Stasis application support"}, {"use_count", 14}, {"status", "Running"}, {"support_level", "core"}},
	{{"name", "res_pjsip.so"}, {"description", "Basic SIP resource"}, {"use_count", 40}, {"status", "Running"}, {"support_level", "core"}},
	{{"name", "chan_pjsip.so"}, {"description", "PJSIP Channel Driver"}, {"use_count", 0}, {"status", "Running"}, {"support_level", "core"}},
}

func (s *Server) asteriskModules(q *request) response { return ok(modules) }

func (s *Server) asteriskModule(q *request) response {
	for _, m := range modules {
		if m[0].V == q.str("moduleName") {
			return ok(m)
		}
	}
	return errMsg(http.StatusNotFound, "Module could not be found in running modules")
}

func (s *Server) asteriskGetVar(q *request) response {
	return ok(variableJSON{s.globals[q.str("variable")]})
}

func (s *Server) asteriskSetVar(q *request) response {
	s.globals[q.str("variable")] = q.str("value")
	return noContent()
}

// ---- sounds ----

func (s *Server) soundJSON(name, lang, format string) (obj, bool) {
	if (lang != "" && lang != "en") || (format != "" && format != "slin") {
		return nil, false
	}
	return obj{{"id", name}, {"formats", []obj{{{"language", "en"}, {"format", "slin"}}}}}, true
}

func (s *Server) soundsList(q *request) response {
	names := sortedKeys(s.sounds)
	sort.Strings(names)
	list := []obj{}
	for _, n := range names {
		if j, good := s.soundJSON(n, q.str("lang"), q.str("format")); good {
			list = append(list, j)
		}
	}
	return ok(list)
}

func (s *Server) soundsGet(q *request) response {
	name := q.str("soundId")
	if _, found := s.sounds[name]; !found {
		return errMsg(http.StatusNotFound, "Sound not found")
	}
	j, _ := s.soundJSON(name, "", "")
	return ok(j)
}

// ---- events ----

func (s *Server) eventsUserEvent(q *request) response {
	app := q.str("application")
	reg := s.apps[app]
	if reg == nil || reg.conn == nil {
		return errMsg(http.StatusNotFound, "Application not found")
	}
	fields := []kv{{"eventname", q.str("eventName")}}
	for _, src := range q.list("source") {
		scheme, id, _ := strings.Cut(src, ":")
		switch scheme {
		case "channel":
			c := s.channels[id]
			if c == nil {
				return errMsg(http.StatusUnprocessableEntity, "Event source was not found")
			}
			fields = append(fields, kv{"channel", c.json()})
		case "bridge":
			b := s.bridges[id]
			if b == nil {
				return errMsg(http.StatusUnprocessableEntity, "Event source was not found")
			}
			fields = append(fields, kv{"bridge", b.json()})
		default:
			return errMsg(http.StatusBadRequest, "Invalid event source URI scheme")
		}
	}
	vars := obj{}
	if v, found := q.body["variables"]; found {
		fields = append(fields, kv{"userevent", v})
	} else {
		fields = append(fields, kv{"userevent", vars})
	}
	s.publish(&event{typ: "ChannelUserevent", fields: fields}, []string{app})
	return noContent()
}
