package asterisk_test

import (
	"context"
	"fmt"

	"github.com/switchboard-cc/switchboard/cti"
	"github.com/switchboard-cc/switchboard/cti/arisim"
	"github.com/switchboard-cc/switchboard/cti/asterisk"
)

// Example shows the adapter wired as the engine wires it: Deliver receives TelephonyConnected once the events websocket
// is up, then a caller entering Stasis(contact-center,inbound) as ChannelEntered, and a Telephony command (Hangup) whose
// outcome comes back as events.
func Example() {
	pbx := arisim.New(arisim.Config{TimeScale: 0.01})
	defer pbx.Close()
	addr, err := pbx.Start(context.Background(), "127.0.0.1:0")
	if err != nil {
		panic(err)
	}

	events := make(chan cti.Event, 64) // stands in for the engine's non-blocking inbox
	c := asterisk.New(asterisk.Config{
		URL: "http://" + addr + "/ari", User: "asterisk", Password: "asterisk", App: "contact-center",
		Deliver: func(e cti.Event) {
			select {
			case events <- e:
			default:
			}
		},
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- c.Run(ctx) }()
	defer func() { cancel(); <-done }()

	fmt.Printf("%T\n", <-events)
	if _, err := pbx.Call(arisim.CallSpec{CallerName: "Alice", CallerNumber: "15551230001"}); err != nil {
		panic(err)
	}
	in := (<-events).(cti.ChannelEntered)
	fmt.Println(in.Args, in.Channel.Caller.Name, in.Channel.State)
	if err := c.Hangup(ctx, in.Channel.ID, "normal"); err != nil {
		panic(err)
	}
	for e := range events {
		fmt.Printf("%T\n", e)
		if _, ok := e.(cti.ChannelLeft); ok {
			break
		}
	}
	// Output:
	// cti.TelephonyConnected
	// [inbound] Alice Ring
	// cti.ChannelHangupRequested
	// cti.ChannelLeft
}
