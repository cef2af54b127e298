package arisim

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"
)

// Caller is a name and number the demo traffic calls from.
type Caller struct{ Name, Number string }

// DemoConfig shapes steady demo traffic.
type DemoConfig struct {
	CallsPerMinute float64  // mean arrival rate in simulated time (default 6)
	Callers        []Caller // who calls (default a small built-in list)
	Dialed         []string // numbers dialled (default 5551000)
	DigitShare     float64  // share of callers who press a menu digit (default 0.7)
	Digits         string   // digits they choose from (default "12")
	AbandonShare   float64  // share who hang up while waiting (default 0.2)
	Seed           uint64   // 0: random
}

var demoCallers = []Caller{
	{"Alice Example", "15551230001"}, {"Bob Caller", "15551230002"}, {"Carol Abandon", "15551230003"},
	{"Dan Demo", "15551230004"}, {"Eve Media", "15551230005"}, {"Frank Variable", "15551230006"},
	{"Grace Hopper", "15551230007"}, {"Hank Snoop", "15551230008"},
}

// Demo places calls until ctx is done or the server closes, with
// exponentially distributed gaps. Calls arriving while no controller has
// registered the app are declined (counted in Stats.CallsRejected).
func (s *Server) Demo(ctx context.Context, cfg DemoConfig) error {
	if cfg.CallsPerMinute <= 0 {
		cfg.CallsPerMinute = 6
	}
	if len(cfg.Callers) == 0 {
		cfg.Callers = demoCallers
	}
	if len(cfg.Dialed) == 0 {
		cfg.Dialed = []string{"5551000"}
	}
	if cfg.DigitShare == 0 {
		cfg.DigitShare = 0.7
	}
	if cfg.Digits == "" {
		cfg.Digits = "12"
	}
	if cfg.AbandonShare == 0 {
		cfg.AbandonShare = 0.2
	}
	seed := cfg.Seed
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	rng := rand.New(rand.NewPCG(seed, 0xde30))
	meanGap := time.Duration(float64(time.Minute) / cfg.CallsPerMinute)
	for {
		gap := time.Duration(rng.ExpFloat64() * float64(meanGap))
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-s.done:
			return nil
		case <-time.After(s.scaled(gap)):
		}
		c := cfg.Callers[rng.IntN(len(cfg.Callers))]
		spec := CallSpec{CallerName: c.Name, CallerNumber: c.Number, Dialed: cfg.Dialed[rng.IntN(len(cfg.Dialed))]}
		if rng.Float64() < cfg.DigitShare {
			d := cfg.Digits[rng.IntN(len(cfg.Digits))]
			spec.DTMF = []Step{{Digits: string(d), After: time.Duration(2+rng.IntN(4)) * time.Second}}
		}
		if rng.Float64() < cfg.AbandonShare {
			spec.HangupAfter = time.Duration(5+rng.IntN(55)) * time.Second
		} else {
			spec.HangupAfter = time.Duration(120+rng.IntN(480)) * time.Second
		}
		if _, err := s.Call(spec); err != nil && !errors.Is(err, ErrNoApp) {
			return err
		}
	}
}

// LoadResult counts what a Load run did.
type LoadResult struct {
	Offered  int // calls that entered the Stasis app
	Rejected int // calls declined because no app was registered
	Answered int // inbound calls the controller answered
	Bridged  int // inbound calls the controller bridged with another channel
	Duration time.Duration
}

// Load places callsPerSecond calls (wall-clock rate) for duration, each
// shaped by template (caller numbers are made unique), and returns counts
// taken when it ends. Calls still in progress keep running. A tick that
// comes late (a busy machine, a Call that waited for the lock) places every
// call due by then in one burst, so the rate is kept rather than ticks lost:
// after duration exactly rate × duration calls have been placed.
func (s *Server) Load(ctx context.Context, callsPerSecond float64, duration time.Duration, template CallSpec) (LoadResult, error) {
	if callsPerSecond <= 0 {
		return LoadResult{}, errors.New("arisim: callsPerSecond must be positive")
	}
	before := s.Stats()
	start := time.Now()
	total := int(callsPerSecond * duration.Seconds())
	// Ticking faster than every millisecond would cost more than it smooths.
	t := time.NewTicker(max(time.Duration(float64(time.Second)/callsPerSecond), time.Millisecond))
	defer t.Stop()
	n := 0
	var err error
loop:
	for n < total {
		select {
		case <-ctx.Done():
			err = ctx.Err()
			break loop
		case <-s.done:
			break loop
		case <-t.C:
		}
		due := min(total, int(time.Since(start).Seconds()*callsPerSecond))
		for ; n < due; n++ {
			if err = ctx.Err(); err != nil {
				break loop
			}
			spec := template
			spec.CallerNumber = fmt.Sprintf("1555%07d", n+1)
			if spec.CallerName == "" {
				spec.CallerName = fmt.Sprintf("Load %d", n+1)
			}
			if _, cerr := s.Call(spec); cerr != nil && !errors.Is(cerr, ErrNoApp) {
				err = cerr
				break loop
			}
		}
	}
	after := s.Stats()
	return LoadResult{
		Offered:  after.CallsOffered - before.CallsOffered,
		Rejected: after.CallsRejected - before.CallsRejected,
		Answered: after.CallsAnswered - before.CallsAnswered,
		Bridged:  after.CallsBridged - before.CallsBridged,
		Duration: time.Since(start),
	}, err
}
