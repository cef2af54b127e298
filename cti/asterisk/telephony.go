package asterisk

import (
	"context"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/switchboard-cc/switchboard/cti"
)

// The cti.Telephony methods. Each is one ARI request (two for ExternalMedia without channel variables in the response,
// three kinds for Snapshot), bounded by ctx.

// Answer answers a ringing channel.
func (c *Client) Answer(ctx context.Context, channelID string) error {
	return c.do(ctx, call{method: http.MethodPost, path: []string{"channels", channelID, "answer"}, what: "answer channel " + channelID})
}

// Hangup hangs a channel up with an ARI reason ("normal", "busy"…; "" lets Asterisk choose).
func (c *Client) Hangup(ctx context.Context, channelID, reason string) error {
	if reason != "" && !slices.Contains(hangupReasons, reason) {
		return cti.Invalid("reason", "unknown hang-up reason %q", reason)
	}
	return c.do(ctx, call{method: http.MethodDelete, path: []string{"channels", channelID}, query: q("reason", reason),
		what: "hang up channel " + channelID})
}

// Play plays the media list on a channel in one request (media=a,b: Asterisk queues them under one playback id, with a
// PlaybackStarted per item and one PlaybackFinished at the end).
func (c *Client) Play(ctx context.Context, channelID, playbackID string, media []string) error {
	if len(media) == 0 {
		return cti.Invalid("media", "nothing to play")
	}
	return c.do(ctx, call{method: http.MethodPost, path: []string{"channels", channelID, "play"},
		query: q("media", strings.Join(media, ","), "playbackId", playbackID), what: "play on channel " + channelID})
}

// PlayOnBridge plays the media list to everyone in a bridge.
func (c *Client) PlayOnBridge(ctx context.Context, bridgeID, playbackID string, media []string) error {
	if len(media) == 0 {
		return cti.Invalid("media", "nothing to play")
	}
	return c.do(ctx, call{method: http.MethodPost, path: []string{"bridges", bridgeID, "play"},
		query: q("media", strings.Join(media, ","), "playbackId", playbackID), what: "play on bridge " + bridgeID})
}

// StopPlayback stops a playback; PlaybackFinished (state "done") follows.
func (c *Client) StopPlayback(ctx context.Context, playbackID string) error {
	return c.do(ctx, call{method: http.MethodDelete, path: []string{"playbacks", playbackID}, what: "stop playback " + playbackID})
}

// BridgeMOH starts (class non-empty) or stops (class "") music on hold on a bridge. Asterisk sends no event for either.
func (c *Client) BridgeMOH(ctx context.Context, bridgeID, class string) error {
	if class == "" {
		return c.do(ctx, call{method: http.MethodDelete, path: []string{"bridges", bridgeID, "moh"}, what: "stop music on bridge " + bridgeID})
	}
	return c.do(ctx, call{method: http.MethodPost, path: []string{"bridges", bridgeID, "moh"}, query: q("mohClass", class),
		what: "start music on bridge " + bridgeID})
}

// ChannelMOH starts (class non-empty) or stops (class "") music on hold on a channel.
func (c *Client) ChannelMOH(ctx context.Context, channelID, class string) error {
	if class == "" {
		return c.do(ctx, call{method: http.MethodDelete, path: []string{"channels", channelID, "moh"}, what: "stop music on channel " + channelID})
	}
	return c.do(ctx, call{method: http.MethodPost, path: []string{"channels", channelID, "moh"}, query: q("mohClass", class),
		what: "start music on channel " + channelID})
}

// Hold puts a channel on hold (on) or resumes it.
func (c *Client) Hold(ctx context.Context, channelID string, on bool) error {
	return c.do(ctx, call{method: onOff(on), path: []string{"channels", channelID, "hold"}, what: "hold channel " + channelID})
}

// Mute mutes (on) or unmutes a channel in direction "in", "out" or "both" ("" means both).
func (c *Client) Mute(ctx context.Context, channelID, direction string, on bool) error {
	if direction == "" {
		direction = "both"
	}
	if !slices.Contains(directions, direction) {
		return cti.Invalid("direction", "must be in, out or both")
	}
	return c.do(ctx, call{method: onOff(on), path: []string{"channels", channelID, "mute"}, query: q("direction", direction),
		what: "mute channel " + channelID})
}

// directions and hangupReasons are the values ARI accepts (the spec's allowableValues); others are rejected here.
var (
	directions    = []string{"in", "out", "both"}
	hangupReasons = []string{"normal", "busy", "congestion", "no_answer", "timeout", "rejected", "unallocated",
		"normal_unspecified", "number_incomplete", "codec_mismatch", "interworking", "failure", "answered_elsewhere"}
)

func onOff(on bool) string {
	if on {
		return http.MethodPost
	}
	return http.MethodDelete
}

// CreateBridge creates a bridge with our id. Asterisk sends no BridgeCreated to the creating application.
func (c *Client) CreateBridge(ctx context.Context, bridgeID string, kind cti.BridgeKind) error {
	if kind != cti.BridgeMixing && kind != cti.BridgeHolding {
		return cti.Invalid("kind", "unknown bridge kind %q", kind)
	}
	return c.do(ctx, call{method: http.MethodPost, path: []string{"bridges"}, query: q("type", string(kind), "bridgeId", bridgeID),
		what: "create bridge " + bridgeID})
}

// AddChannel puts a channel into a bridge with an informative role.
func (c *Client) AddChannel(ctx context.Context, bridgeID, channelID, role string) error {
	return c.do(ctx, call{method: http.MethodPost, path: []string{"bridges", bridgeID, "addChannel"},
		query: q("channel", channelID, "role", role), what: "add channel " + channelID + " to bridge " + bridgeID})
}

// RemoveChannel takes a channel out of a bridge.
func (c *Client) RemoveChannel(ctx context.Context, bridgeID, channelID string) error {
	return c.do(ctx, call{method: http.MethodPost, path: []string{"bridges", bridgeID, "removeChannel"},
		query: q("channel", channelID), what: "remove channel " + channelID + " from bridge " + bridgeID})
}

// DestroyBridge destroys a bridge; channels in it stay up.
func (c *Client) DestroyBridge(ctx context.Context, bridgeID string) error {
	return c.do(ctx, call{method: http.MethodDelete, path: []string{"bridges", bridgeID}, what: "destroy bridge " + bridgeID})
}

// Originate dials o.Endpoint into our application with our channel id, so the leg's events (StasisStart with o.Args on
// answer, ChannelDestroyed with its cause if it never answers) can be matched before this call returns; we receive every
// event of the application, so nothing needs staging. An endpoint that cannot be called (unknown, not registered) is
// EUNAVAILABLE. When every REST connection is busy, an originate takes the next one before the other requests waiting.
func (c *Client) Originate(ctx context.Context, o cti.Originate) error {
	if o.ChannelID == "" || o.Endpoint == "" {
		return cti.Invalid("endpoint", "channel id and endpoint are required")
	}
	query := q("endpoint", o.Endpoint, "app", c.cfg.App, "appArgs", strings.Join(o.Args, ","), "callerId", o.CallerID,
		"channelId", o.ChannelID)
	if o.Timeout > 0 {
		query = append(query, "timeout", strconv.Itoa(int((o.Timeout+time.Second-1)/time.Second)))
	}
	r := call{method: http.MethodPost, path: []string{"channels"}, query: query, what: "call " + o.Endpoint}
	if len(o.Vars) > 0 {
		r.vars = o.Vars
	}
	return c.do(urgent(ctx), r) // a caller waits for it
}

// Snoop creates a spying and/or whispering channel on s.ChannelID that enters our application with s.Args.
func (c *Client) Snoop(ctx context.Context, s cti.Snoop) error {
	spy, whisper := s.Spy, s.Whisper
	if spy == "" {
		spy = "none"
	}
	if whisper == "" {
		whisper = "none"
	}
	if spy != "none" && !slices.Contains(directions, spy) || whisper != "none" && !slices.Contains(directions, whisper) {
		return cti.Invalid("spy", "spy and whisper must be none, in, out or both")
	}
	return c.do(ctx, call{method: http.MethodPost, path: []string{"channels", s.ChannelID, "snoop"},
		query: q("spy", spy, "whisper", whisper, "app", c.cfg.App, "appArgs", strings.Join(s.Args, ","), "snoopId", s.SnoopID),
		what:  "snoop on channel " + s.ChannelID})
}

// ExternalMedia creates an RTP channel towards hostPort (UDP, RTP encapsulation, format e.g. "ulaw") that enters our
// application with args (ARI's data parameter), and returns Asterisk's local RTP address (UNICASTRTP_LOCAL_ADDRESS:PORT).
func (c *Client) ExternalMedia(ctx context.Context, channelID, hostPort, format string, args []string, vars map[string]string) (string, error) {
	if format == "" {
		format = "ulaw"
	}
	var ch channel
	r := call{method: http.MethodPost, path: []string{"channels", "externalMedia"},
		query: q("channelId", channelID, "app", c.cfg.App, "external_host", hostPort, "format", format,
			"encapsulation", "rtp", "transport", "udp", "data", strings.Join(args, ",")),
		out: &ch, what: "external media to " + hostPort}
	if len(vars) > 0 {
		r.vars = vars
	}
	err := c.do(ctx, r)
	if err != nil {
		return "", err
	}
	addr, port := ch.ChannelVars["UNICASTRTP_LOCAL_ADDRESS"], ch.ChannelVars["UNICASTRTP_LOCAL_PORT"]
	if addr == "" {
		if addr, err = c.GetVar(ctx, channelID, "UNICASTRTP_LOCAL_ADDRESS"); err != nil {
			return "", err
		}
	}
	if port == "" {
		if port, err = c.GetVar(ctx, channelID, "UNICASTRTP_LOCAL_PORT"); err != nil {
			return "", err
		}
	}
	if addr == "" || port == "" {
		return "", cti.Errorf(cti.EINTERNAL, "external media channel %s has no local RTP address", channelID)
	}
	return addr + ":" + port, nil
}

// RecordBridge records a bridge into the stored recording name (wav); an existing recording of that name is an error.
func (c *Client) RecordBridge(ctx context.Context, bridgeID, name string) error {
	return c.do(ctx, call{method: http.MethodPost, path: []string{"bridges", bridgeID, "record"},
		query: q("name", name, "format", "wav", "ifExists", "fail"), what: "record bridge " + bridgeID})
}

// StopRecording stops a live recording; RecordingFinished follows and the recording is stored.
func (c *Client) StopRecording(ctx context.Context, name string) error {
	return c.do(ctx, call{method: http.MethodPost, path: []string{"recordings", "live", name, "stop"}, what: "stop recording " + name})
}

// PauseRecording pauses (paused) or resumes a live recording.
func (c *Client) PauseRecording(ctx context.Context, name string, paused bool) error {
	return c.do(ctx, call{method: onOff(paused), path: []string{"recordings", "live", name, "pause"}, what: "pause recording " + name})
}

// FetchRecording streams a stored recording's file. The body is read under ctx: cancelling ctx ends the stream.
func (c *Client) FetchRecording(ctx context.Context, name string) (io.ReadCloser, error) {
	resp, err := c.send(ctx, call{method: http.MethodGet, path: []string{"recordings", "stored", name, "file"}, what: "fetch recording " + name})
	if err != nil {
		return nil, err
	}
	return resp.Body, nil
}

// DeleteRecording deletes a stored recording.
func (c *Client) DeleteRecording(ctx context.Context, name string) error {
	return c.do(ctx, call{method: http.MethodDelete, path: []string{"recordings", "stored", name}, what: "delete recording " + name})
}

// SetVar sets a channel variable (or a function such as CALLERID(name)).
func (c *Client) SetVar(ctx context.Context, channelID, name, value string) error {
	return c.do(ctx, call{method: http.MethodPost, path: []string{"channels", channelID, "variable"},
		query: q("variable", name, "value", value), what: "set " + name + " on channel " + channelID})
}

// SetVars sets several channel variables: in one request where Asterisk has setChannelVars (20.20, 22.10, 23.4 and later),
// else one request each, in name order.
func (c *Client) SetVars(ctx context.Context, channelID string, vars map[string]string) error {
	if len(vars) == 0 {
		return nil
	}
	if c.bulkVars.Load() {
		err := c.do(ctx, call{method: http.MethodPost, path: []string{"channels", channelID, "variables"},
			vars: vars, what: "set variables on channel " + channelID})
		if cti.ErrorCode(err) != cti.ENOTIMPLEMENTED {
			return err
		}
		c.bulkVars.Store(false) // a build without the handler, whatever its version says
	}
	for _, name := range slices.Sorted(maps.Keys(vars)) {
		if err := c.SetVar(ctx, channelID, name, vars[name]); err != nil {
			return err
		}
	}
	return nil
}

// readVersion asks Asterisk its version and so whether it has the bulk variable requests; on failure they are not used.
func (c *Client) readVersion(ctx context.Context) {
	var info struct {
		System struct {
			Version string `json:"version"`
		} `json:"system"`
	}
	err := c.do(ctx, call{method: http.MethodGet, path: []string{"asterisk", "info"}, query: q("only", "system"), out: &info,
		what: "read the Asterisk version"})
	if err != nil {
		c.log.Warn("asterisk: version unknown; setting variables one by one", "err", err)
	}
	c.bulkVars.Store(err == nil && hasBulkVars(info.System.Version))
}

// hasBulkVars reports whether an Asterisk version has setChannelVars: "since" 20.20.0, 22.10.0 and 23.4.0 in the ARI spec,
// so every later major too. A version that does not parse (a git build) does not.
func hasBulkVars(version string) bool {
	var major, minor int
	if _, err := fmt.Sscanf(version, "%d.%d", &major, &minor); err != nil {
		return false
	}
	switch {
	case major == 20:
		return minor >= 20
	case major == 22:
		return minor >= 10
	case major == 23:
		return minor >= 4
	}
	return major >= 24
}

// GetVar reads a channel variable. An unset variable is "" without error (Asterisk answers 404 "Provided variable was not
// found"); a channel that does not exist is ENOTFOUND.
func (c *Client) GetVar(ctx context.Context, channelID, name string) (string, error) {
	var v struct {
		Value string `json:"value"`
	}
	err := c.do(ctx, call{method: http.MethodGet, path: []string{"channels", channelID, "variable"}, query: q("variable", name),
		out: &v, what: "read " + name + " of channel " + channelID})
	if isUnsetVariable(err) {
		return "", nil
	}
	return v.Value, err
}

// Snapshot lists the channels in our application (GET /applications/{app} channel_ids, and channels whose dialplan shows
// Stasis(<app>,...)) with the variables in vars that are set, and the bridges of our application, sorted by id.
func (c *Client) Snapshot(ctx context.Context, vars []string) ([]cti.ChannelInfo, []cti.BridgeInfo, error) {
	var app struct {
		ChannelIDs []string `json:"channel_ids"`
		BridgeIDs  []string `json:"bridge_ids"`
	}
	if err := c.do(ctx, call{method: http.MethodGet, path: []string{"applications", c.cfg.App}, out: &app,
		what: "read application " + c.cfg.App}); err != nil {
		if cti.ErrorCode(err) == cti.ENOTFOUND {
			return nil, nil, &cti.Error{Code: cti.EUNAVAILABLE, Message: "application " + c.cfg.App + " is not registered in asterisk", Err: err}
		}
		return nil, nil, err
	}
	var chans []channel
	if err := c.do(ctx, call{method: http.MethodGet, path: []string{"channels"}, out: &chans, what: "list channels"}); err != nil {
		return nil, nil, err
	}
	var bridges []struct {
		ID       string   `json:"id"`
		Type     string   `json:"bridge_type"`
		Channels []string `json:"channels"`
	}
	if err := c.do(ctx, call{method: http.MethodGet, path: []string{"bridges"}, out: &bridges, what: "list bridges"}); err != nil {
		return nil, nil, err
	}

	var out []cti.ChannelInfo
	for i := range chans {
		ch := &chans[i]
		if !slices.Contains(app.ChannelIDs, ch.ID) && !c.inOurStasis(ch) {
			continue
		}
		ci := channelInfo(ch)
		for _, name := range vars {
			v, err := c.GetVar(ctx, ch.ID, name)
			if cti.ErrorCode(err) == cti.ENOTFOUND {
				break // hung up meanwhile; keep what we have
			}
			if err != nil {
				return nil, nil, err
			}
			if v == "" {
				continue
			}
			if ci.Vars == nil {
				ci.Vars = map[string]string{}
			}
			ci.Vars[name] = v
		}
		out = append(out, ci)
	}
	slices.SortFunc(out, func(a, b cti.ChannelInfo) int { return strings.Compare(a.ID, b.ID) })

	var bout []cti.BridgeInfo
	for _, b := range bridges {
		if !slices.Contains(app.BridgeIDs, b.ID) {
			continue
		}
		bout = append(bout, cti.BridgeInfo{ID: b.ID, Kind: cti.BridgeKind(b.Type), Channels: slices.Sorted(slices.Values(b.Channels))})
	}
	slices.SortFunc(bout, func(a, b cti.BridgeInfo) int { return strings.Compare(a.ID, b.ID) })
	return out, bout, nil
}

// inOurStasis reports whether the channel's dialplan location is Stasis(<our app>[,args]).
func (c *Client) inOurStasis(ch *channel) bool {
	if ch.Dialplan.AppName != "Stasis" {
		return false
	}
	app, _, _ := strings.Cut(ch.Dialplan.AppData, ",")
	return app == c.cfg.App
}
