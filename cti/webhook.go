package cti

import (
	"context"
	"encoding/json"
	"time"
)

// Webhooks tell the company's other systems about every interaction. The store writes each event to an outbox in the same
// transaction as the change it reports, with one delivery per matching subscription; cti/webhook delivers them at least once, in
// order per key, signed, with retries, and parks the ones that keep failing as dead letters an admin may replay.

// Event types.
const (
	EventInteractionStarted   = "interaction.started"
	EventInteractionAnswered  = "interaction.answered"
	EventInteractionCompleted = "interaction.completed"
	EventRecordingReady       = "recording.ready"
	EventCallbackRequested    = "callback.requested"
	EventAgentStateChanged    = "agent.state_changed"
	EventCustomerCreated      = "customer.created"
	// EventCustomerUpdated follows every other change to a customer: an edit (fields, tags, numbers and addresses), a number or
	// address added or removed, and a soft delete (whose data is {"id", "version", "deleted_at"}).
	EventCustomerUpdated = "customer.updated"
)

// EventTypes lists every event type, sorted.
var EventTypes = []string{EventAgentStateChanged, EventCallbackRequested, EventCustomerCreated, EventCustomerUpdated,
	EventInteractionAnswered, EventInteractionCompleted, EventInteractionStarted, EventRecordingReady}

// WebhookEvent is one event of the outbox. ID is the receiver's idempotency key; Key is what events are ordered by (the
// interaction, agent or customer id); Data is the changed object as the API shows it.
type WebhookEvent struct {
	ID         string          `json:"id"`
	Type       string          `json:"type"`
	Key        string          `json:"-"`
	OccurredAt time.Time       `json:"occurred_at"`
	Data       json.RawMessage `json:"data"`
}

// WebhookSubscription is a receiver of events. Secret signs the deliveries; it is write-only: readers get it empty.
type WebhookSubscription struct {
	ID        string    `json:"id"`
	URL       string    `json:"url"`
	Secret    string    `json:"secret,omitempty"`
	Events    []string  `json:"events"`
	Active    bool      `json:"active"`
	CreatedAt time.Time `json:"created_at,omitzero"`
	UpdatedAt time.Time `json:"updated_at,omitzero"`
}

// Delivery is one event on its way to one subscription, as the worker claims it. Attempt counts this attempt (1 for the first).
type Delivery struct {
	Event          WebhookEvent
	SubscriptionID string
	URL            string
	Secret         string
	Attempt        int
}

// DeadLetter is a delivery that failed its last attempt.
type DeadLetter struct {
	SubscriptionID string       `json:"subscription_id"`
	URL            string       `json:"url"`
	Event          WebhookEvent `json:"event"`
	Attempts       int          `json:"attempts"`
	LastStatus     int          `json:"last_status"` // 0: no HTTP answer
	LastError      string       `json:"last_error"`
	FailedAt       time.Time    `json:"failed_at"`
}

// Outbox is what the delivery worker needs from the store.
type Outbox interface {
	// ClaimDeliveries leases up to limit due deliveries until now+lease and counts the attempt: the first pending delivery of each
	// (subscription, key) only, so a key's events go one at a time and in order. A delivery whose worker died is claimed again
	// once its lease ends.
	ClaimDeliveries(ctx context.Context, now time.Time, limit int, lease time.Duration) ([]Delivery, error)
	// Delivered marks d done. A delivery claimed again since (its lease ran out) is left to its new claim.
	Delivered(ctx context.Context, d Delivery, status int, at time.Time) error
	// DeliveryFailed records a failed attempt: retried at retryAt, or a dead letter when dead.
	DeliveryFailed(ctx context.Context, d Delivery, status int, reason string, retryAt time.Time, dead bool) error
	// PruneOutbox deletes up to limit events every delivery of which was delivered before cutoff, and returns how many. Events
	// with a pending delivery or a dead letter are kept.
	PruneOutbox(ctx context.Context, cutoff time.Time, limit int) (int, error)
}

// WebhookAdmin manages subscriptions and dead letters (admins only).
type WebhookAdmin interface {
	// CreateSubscription stores s (Secret required, at least 16 characters) and fills in ID and the times.
	CreateSubscription(ctx context.Context, s *WebhookSubscription) error
	// UpdateSubscription replaces URL, Events and Active; an empty Secret keeps the stored one.
	UpdateSubscription(ctx context.Context, s *WebhookSubscription) error
	DeleteSubscription(ctx context.Context, id string) error
	Subscriptions(ctx context.Context) ([]WebhookSubscription, error)
	// DeadLetters returns the dead letters of every subscription, oldest first.
	DeadLetters(ctx context.Context, limit int) ([]DeadLetter, error)
	// ReplayDeadLetter makes a dead letter pending again, due at once, with a fresh count of attempts.
	ReplayDeadLetter(ctx context.Context, subscriptionID, eventID string) error
}

// ValidEventType reports whether t is a known event type.
func ValidEventType(t string) bool {
	for _, e := range EventTypes {
		if e == t {
			return true
		}
	}
	return false
}
