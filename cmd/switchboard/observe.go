package main

import (
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/switchboard-cc/switchboard/crmstore"
	"github.com/switchboard-cc/switchboard/cti"
)

// The metrics that come from outside the engine's Observer: queue and agent gauges from the engine's notifications, ARI events
// from the adapter's deliveries, webhook attempts and database latency. Labels are queues, states, kinds and results — never a
// call, agent or caller id. docs/grafana-dashboard.json draws them.

// liveMetrics wraps the hub's Notifier: queue statistics (pushed at most once a second by the engine) set the queue gauges, and
// agent changes the count of agents by state, then both go on to the hub unchanged.
type liveMetrics struct {
	cti.Notifier

	waiting, longest, agents, serviceLevel *prometheus.GaugeVec
	byState                                *prometheus.GaugeVec

	mu     sync.Mutex
	states map[string]cti.AgentState // agent id → state (not a label: only counted)
}

func newLiveMetrics(reg prometheus.Registerer, next cti.Notifier) *liveMetrics {
	m := &liveMetrics{Notifier: next, states: map[string]cti.AgentState{},
		waiting: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "switchboard_queue_waiting",
			Help: "Calls waiting in the queue, callbacks included."}, []string{"queue"}),
		longest: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "switchboard_queue_longest_wait_seconds",
			Help: "Wait of the queue's longest-waiting call."}, []string{"queue"}),
		agents: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "switchboard_queue_agents",
			Help: "Member agents of the queue by state."}, []string{"queue", "state"}),
		serviceLevel: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "switchboard_queue_service_level",
			Help: "Service level (0..1, queue.Period's formula) over a window: today or 15m."}, []string{"queue", "window"}),
		byState: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "switchboard_agents",
			Help: "Agents by state, logged-out excluded."}, []string{"state"}),
	}
	reg.MustRegister(m.waiting, m.longest, m.agents, m.serviceLevel, m.byState)
	return m
}

func (m *liveMetrics) Queues(qs []cti.QueueStatus) {
	for _, q := range qs {
		m.waiting.WithLabelValues(q.Queue).Set(float64(q.Waiting))
		m.longest.WithLabelValues(q.Queue).Set(q.LongestWait.Seconds())
		m.serviceLevel.WithLabelValues(q.Queue, "today").Set(q.ServiceLevel)
		m.serviceLevel.WithLabelValues(q.Queue, "15m").Set(q.ServiceLevel15)
		for _, st := range []cti.AgentState{cti.AgentNotReady, cti.AgentReady, cti.AgentReserved, cti.AgentOnCall, cti.AgentWrapUp} {
			m.agents.WithLabelValues(q.Queue, string(st)).Set(float64(q.Agents[st]))
		}
	}
	m.Notifier.Queues(qs)
}

func (m *liveMetrics) Agent(s cti.AgentStatus) {
	m.mu.Lock()
	prev, ok := m.states[s.AgentID]
	if !ok || prev != s.State {
		if ok && prev != cti.AgentLoggedOut {
			m.byState.WithLabelValues(string(prev)).Dec()
		}
		if s.State != cti.AgentLoggedOut {
			m.byState.WithLabelValues(string(s.State)).Inc()
		}
		m.states[s.AgentID] = s.State
	}
	m.mu.Unlock()
	m.Notifier.Agent(s)
}

// ariMetrics counts the events the ARI adapter delivers, by kind, and the event stream's connections and losses.
type ariMetrics struct {
	events     *prometheus.CounterVec
	connects   prometheus.Counter
	disconnect prometheus.Counter

	mu    sync.Mutex
	kinds map[string]prometheus.Counter // type name → its counter, so the hot path formats no string
}

func newARIMetrics(reg prometheus.Registerer) *ariMetrics {
	m := &ariMetrics{kinds: map[string]prometheus.Counter{},
		events: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "switchboard_ari_events_total",
			Help: "Events delivered by the ARI adapter to the engine, by kind."}, []string{"kind"}),
		connects: prometheus.NewCounter(prometheus.CounterOpts{Name: "switchboard_ari_connects_total",
			Help: "Times the ARI event stream came up (the first connection and every reconnection)."}),
		disconnect: prometheus.NewCounter(prometheus.CounterOpts{Name: "switchboard_ari_disconnects_total",
			Help: "Times the ARI event stream was lost."}),
	}
	reg.MustRegister(m.events, m.connects, m.disconnect)
	return m
}

// deliver counts ev and passes it on.
func (m *ariMetrics) deliver(next func(cti.Event)) func(cti.Event) {
	return func(ev cti.Event) {
		switch ev.(type) {
		case cti.TelephonyConnected, *cti.TelephonyConnected:
			m.connects.Inc()
		case cti.TelephonyDisconnected, *cti.TelephonyDisconnected:
			m.disconnect.Inc()
		}
		name := fmt.Sprintf("%T", ev)
		m.mu.Lock()
		c := m.kinds[name]
		if c == nil {
			c = m.events.WithLabelValues(strings.TrimPrefix(strings.TrimPrefix(name, "*"), "cti."))
			m.kinds[name] = c
		}
		m.mu.Unlock()
		c.Inc()
		next(ev)
	}
}

// newWebhookMetrics returns the webhook worker's Observe: attempts by result and their duration.
func newWebhookMetrics(reg prometheus.Registerer) func(result string, d time.Duration) {
	attempts := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "switchboard_webhook_deliveries_total",
		Help: "Webhook delivery attempts by result: delivered, failed (will retry) or dead (a dead letter)."}, []string{"result"})
	seconds := prometheus.NewHistogram(prometheus.HistogramOpts{Name: "switchboard_webhook_delivery_seconds",
		Help: "Duration of webhook delivery attempts.", Buckets: prometheus.ExponentialBuckets(0.005, 2, 12)})
	reg.MustRegister(attempts, seconds)
	for _, r := range []string{"delivered", "failed", "dead"} {
		attempts.WithLabelValues(r)
	}
	return func(result string, d time.Duration) {
		attempts.WithLabelValues(result).Inc()
		seconds.Observe(d.Seconds())
	}
}

// newDBMetrics returns the database's query observer: latency by statement kind, and errors.
func newDBMetrics(reg prometheus.Registerer) crmstore.QueryObserver {
	seconds := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "switchboard_db_query_seconds",
		Help:    "Duration of database statements by kind (select, insert, update, delete, copy, begin, commit…).",
		Buckets: prometheus.ExponentialBuckets(0.0001, 2.5, 12)}, []string{"kind"})
	errs := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "switchboard_db_query_errors_total",
		Help: "Database statements that failed, by kind."}, []string{"kind"})
	reg.MustRegister(seconds, errs)
	return func(kind string, d time.Duration, err error) {
		seconds.WithLabelValues(kind).Observe(d.Seconds())
		if err != nil {
			errs.WithLabelValues(kind).Inc()
		}
	}
}
