package engine

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/switchboard-cc/switchboard/cti"
)

// nopTel accepts every command and signals each originate.
type nopTel struct {
	fakeTel
	originated chan struct{}
}

func (n *nopTel) Originate(context.Context, cti.Originate) error {
	n.originated <- struct{}{}
	return nil
}

// BenchmarkInboundToOriginate measures ChannelEntered → Originate with a no-op PBX and CRM: one caller per iteration,
// no IVR (welcome then queue), ten Ready agents who hang up at once so the next caller is offered too.
func BenchmarkInboundToOriginate(b *testing.B) {
	tel := &nopTel{originated: make(chan struct{}, 1)}
	crm := newCRM()
	for i := range 10 {
		crm.agents = append(crm.agents, cti.AgentConfig{ID: fmt.Sprintf("b%02d", i), Endpoint: "PJSIP/2000", Queues: []string{"general"}})
	}
	crm.queues[0].WrapUp = 0
	n := 0
	e, err := New(Config{Telephony: tel, Customers: crm, Interactions: crm, Settings: crm, Notifier: &fakeNotifier{},
		IDs: func() string { n++; return fmt.Sprintf("bench%d", n) }})
	if err != nil {
		b.Fatal(err)
	}
	e.cfg.Telephony = &quietTel{tel}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- e.Run(ctx) }()
	e.Post(cti.TelephonyConnected{})
	for i := range 10 {
		id := fmt.Sprintf("b%02d", i)
		if err := e.Login(ctx, id); err != nil {
			b.Fatal(err)
		}
		if err := e.SetState(ctx, id, cti.StateRequest{Ready: true}); err != nil {
			b.Fatal(err)
		}
	}
	var lat []time.Duration
	i := 0
	b.ReportAllocs()
	for b.Loop() {
		i++
		ch := fmt.Sprintf("9.%d", i)
		id := fmt.Sprintf("bench%d", i)
		t0 := time.Now()
		e.Post(cti.ChannelEntered{Channel: cti.ChannelInfo{ID: ch, Caller: cti.Party{Number: "+15550000000"}}, Args: []string{"inbound"}})
		e.Post(cti.PlaybackFinished{PlaybackID: "sb-" + id + "-p1"})
		<-tel.originated
		lat = append(lat, time.Since(t0))
		e.Post(cti.ChannelHangupRequested{ChannelID: ch})
	}
	cancel()
	<-done
	slices.Sort(lat)
	if len(lat) > 0 {
		b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
		b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
	}
}

// quietTel drops the recording of commands so the benchmark measures the engine.
type quietTel struct{ *nopTel }

func (q *quietTel) Answer(context.Context, string) error                       { return nil }
func (q *quietTel) Hangup(context.Context, string, string) error               { return nil }
func (q *quietTel) Play(context.Context, string, string, []string) error       { return nil }
func (q *quietTel) BridgeMOH(context.Context, string, string) error            { return nil }
func (q *quietTel) CreateBridge(context.Context, string, cti.BridgeKind) error { return nil }
func (q *quietTel) AddChannel(context.Context, string, string, string) error   { return nil }
func (q *quietTel) DestroyBridge(context.Context, string) error                { return nil }
func (q *quietTel) SetVar(context.Context, string, string, string) error       { return nil }
func (q *quietTel) StopRecording(context.Context, string) error                { return nil }
func (q *quietTel) RecordBridge(context.Context, string, string) error         { return nil }
func (q *quietTel) Snapshot(context.Context, []string) ([]cti.ChannelInfo, []cti.BridgeInfo, error) {
	return nil, nil, nil
}
