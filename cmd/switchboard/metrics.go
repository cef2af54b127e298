package main

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/switchboard-cc/switchboard/cti"
)

// engineMetrics implements engine.Observer with Prometheus collectors. Its methods run on the engine loop: they only update
// in-memory counters.
type engineMetrics struct {
	handled *prometheus.HistogramVec
	effects *prometheus.HistogramVec
	errors  *prometheus.CounterVec
	calls   *prometheus.CounterVec
}

func newEngineMetrics(reg prometheus.Registerer) *engineMetrics {
	m := &engineMetrics{
		handled: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "switchboard_engine_handle_seconds",
			Help:    "Time the engine loop spent on one inbox item, by kind (event, command, effect, timer).",
			Buckets: []float64{5e-6, 1e-5, 2.5e-5, 5e-5, 1e-4, 2.5e-4, 5e-4, 1e-3, 5e-3, 1e-2},
		}, []string{"kind"}),
		effects: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "switchboard_engine_effect_seconds",
			Help:    "Duration of the engine's effects (ARI requests, database writes), by effect.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14),
		}, []string{"effect"}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "switchboard_engine_effect_errors_total",
			Help: "Effects that failed, by effect.",
		}, []string{"effect"}),
		calls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "switchboard_calls_total",
			Help: "Finished calls by queue and outcome.",
		}, []string{"queue", "outcome"}),
	}
	reg.MustRegister(m.handled, m.effects, m.errors, m.calls)
	return m
}

func (m *engineMetrics) Handled(kind string, d time.Duration) {
	m.handled.WithLabelValues(kind).Observe(d.Seconds())
}

func (m *engineMetrics) Effect(name string, d time.Duration, err error) {
	m.effects.WithLabelValues(name).Observe(d.Seconds())
	if err != nil {
		m.errors.WithLabelValues(name).Inc()
	}
}

func (m *engineMetrics) CallEnded(queue string, outcome cti.Outcome) {
	m.calls.WithLabelValues(queue, string(outcome)).Inc()
}
