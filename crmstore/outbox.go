package crmstore

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/switchboard-cc/switchboard/cti"
)

// The webhook outbox. emit is called inside the transaction of the change an event reports, so the event exists exactly when
// the change does (a crash between the two is impossible). It writes the event and one pending delivery per active
// subscription that wants its type, or nothing at all when none does; cti/webhook delivers them through the Outbox methods.

var (
	_ cti.Outbox       = (*Store)(nil)
	_ cti.WebhookAdmin = (*Store)(nil)
)

// emit writes an event about key to the outbox in tx, due for delivery at once. data is called only when a subscription wants the event, so a CRM without
// subscribers pays one indexed query per change.
func (s *Store) emit(ctx context.Context, tx pgx.Tx, typ, key string, at time.Time, data func() (any, error)) error {
	var wanted bool
	if err := tx.QueryRow(ctx, `select exists (select 1 from webhook_subscriptions where active and $1 = any (events))`,
		typ).Scan(&wanted); err != nil || !wanted {
		return err
	}
	v, err := data()
	if err != nil {
		return err
	}
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, err = tx.Exec(ctx, `with e as (
			insert into outbox (id, type, key, occurred_at, payload) values ($1, $2, $3, $4, $5) returning id, seq, key)
		insert into webhook_deliveries (subscription_id, event_id, seq, key, next_at)
		select s.id, e.id, e.seq, e.key, $6 from webhook_subscriptions s, e where s.active and $2 = any (s.events)`,
		newID(), typ, key, at.UTC(), b, s.now())
	return err
}

// interactionIn reads an interaction inside tx, for an event's payload.
func interactionIn(ctx context.Context, tx pgx.Tx, id string) func() (any, error) {
	return func() (any, error) {
		return scanInteraction(tx.QueryRow(ctx, interactionSelect+` where id = $1`, id))
	}
}

// ClaimDeliveries implements cti.Outbox.
func (s *Store) ClaimDeliveries(ctx context.Context, now time.Time, limit int, lease time.Duration) ([]cti.Delivery, error) {
	if limit <= 0 {
		limit = 1
	}
	rows, err := s.db.Pool.Query(ctx, `with due as (
			select d.subscription_id, d.event_id from webhook_deliveries d
			where d.state = 'pending' and d.next_at <= $1
				and not exists (select 1 from webhook_deliveries p where p.subscription_id = d.subscription_id
					and p.key = d.key and p.state = 'pending' and p.seq < d.seq)
				and exists (select 1 from webhook_subscriptions s where s.id = d.subscription_id and s.active)
			order by d.next_at, d.seq
			limit $2
			for update of d skip locked)
		update webhook_deliveries w set attempts = w.attempts + 1, next_at = $1 + $3 * interval '1 microsecond'
		from due, outbox o, webhook_subscriptions s
		where w.subscription_id = due.subscription_id and w.event_id = due.event_id and o.id = w.event_id and s.id = w.subscription_id
		returning w.subscription_id::text, s.url, s.secret, w.attempts, o.id::text, o.type, o.key, o.occurred_at, o.payload, w.seq`,
		now.UTC(), limit, lease.Microseconds())
	if err != nil {
		return nil, dbError(err, "claim deliveries")
	}
	type claimed struct {
		d   cti.Delivery
		seq int64
	}
	var out []claimed
	for rows.Next() {
		var c claimed
		e := &c.d.Event
		var payload []byte
		if err := rows.Scan(&c.d.SubscriptionID, &c.d.URL, &c.d.Secret, &c.d.Attempt, &e.ID, &e.Type, &e.Key, &e.OccurredAt,
			&payload, &c.seq); err != nil {
			rows.Close()
			return nil, dbError(err, "claim deliveries")
		}
		e.OccurredAt, e.Data = e.OccurredAt.UTC(), payload
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, dbError(err, "claim deliveries")
	}
	slices.SortFunc(out, func(a, b claimed) int { return cmp.Compare(a.seq, b.seq) })
	ds := make([]cti.Delivery, len(out))
	for i, c := range out {
		ds[i] = c.d
	}
	return ds, nil
}

// Delivered implements cti.Outbox.
func (s *Store) Delivered(ctx context.Context, d cti.Delivery, status int, at time.Time) error {
	_, err := s.db.Pool.Exec(ctx, `update webhook_deliveries set state = 'delivered', delivered_at = $3, last_status = $4, last_error = ''
		where subscription_id = $1 and event_id = $2 and state = 'pending' and attempts = $5`,
		d.SubscriptionID, d.Event.ID, at.UTC(), status, d.Attempt)
	return dbError(err, "mark delivery")
}

// DeliveryFailed implements cti.Outbox.
func (s *Store) DeliveryFailed(ctx context.Context, d cti.Delivery, status int, reason string, retryAt time.Time, dead bool) error {
	state := "pending"
	if dead {
		state = "dead"
	}
	if len(reason) > 500 {
		reason = reason[:500]
	}
	_, err := s.db.Pool.Exec(ctx, `update webhook_deliveries set state = $3, next_at = $4, last_status = $5, last_error = $6
		where subscription_id = $1 and event_id = $2 and state = 'pending' and attempts = $7`,
		d.SubscriptionID, d.Event.ID, state, retryAt.UTC(), status, strings.ToValidUTF8(reason, "?"), d.Attempt)
	return dbError(err, "mark delivery")
}

func checkSubscription(sub *cti.WebhookSubscription, create bool) error {
	bad := map[string]string{}
	u, err := url.Parse(sub.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || len(sub.URL) > 2000 {
		bad["url"] = "an http or https URL"
	}
	if (create || sub.Secret != "") && len(sub.Secret) < 16 {
		bad["secret"] = "at least 16 characters"
	}
	if len(sub.Events) == 0 {
		bad["events"] = "at least one event type"
	}
	for _, e := range sub.Events {
		if !cti.ValidEventType(e) {
			bad["events"] = "unknown event type " + e
		}
	}
	sub.Events = slices.Compact(slices.Sorted(slices.Values(sub.Events)))
	return invalidFields("invalid subscription", bad)
}

// CreateSubscription implements cti.WebhookAdmin.
func (s *Store) CreateSubscription(ctx context.Context, sub *cti.WebhookSubscription) error {
	if err := checkSubscription(sub, true); err != nil {
		return err
	}
	sub.ID = newID()
	now := s.now()
	_, err := s.db.Pool.Exec(ctx, `insert into webhook_subscriptions (id, url, secret, events, active, created_at, updated_at)
		values ($1, $2, $3, $4, $5, $6, $6)`, sub.ID, sub.URL, sub.Secret, sub.Events, sub.Active, now)
	if err != nil {
		return dbError(err, "create subscription")
	}
	sub.CreatedAt, sub.UpdatedAt = now, now
	return nil
}

// UpdateSubscription implements cti.WebhookAdmin.
func (s *Store) UpdateSubscription(ctx context.Context, sub *cti.WebhookSubscription) error {
	if _, err := parseID(sub.ID, "subscription"); err != nil {
		return err
	}
	if err := checkSubscription(sub, false); err != nil {
		return err
	}
	now := s.now()
	err := s.db.Pool.QueryRow(ctx, `update webhook_subscriptions set url = $2, secret = coalesce(nullif($3, ''), secret), events = $4,
			active = $5, updated_at = $6 where id = $1 returning created_at`,
		sub.ID, sub.URL, sub.Secret, sub.Events, sub.Active, now).Scan(&sub.CreatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return cti.Errorf(cti.ENOTFOUND, "subscription %s not found", sub.ID)
	}
	if err != nil {
		return dbError(err, "update subscription")
	}
	sub.CreatedAt, sub.UpdatedAt = sub.CreatedAt.UTC(), now
	return nil
}

// DeleteSubscription implements cti.WebhookAdmin; its pending deliveries and dead letters go with it.
func (s *Store) DeleteSubscription(ctx context.Context, id string) error {
	if _, err := parseID(id, "subscription"); err != nil {
		return err
	}
	tag, err := s.db.Pool.Exec(ctx, `delete from webhook_subscriptions where id = $1`, id)
	if err != nil {
		return dbError(err, "delete subscription")
	}
	if tag.RowsAffected() == 0 {
		return cti.Errorf(cti.ENOTFOUND, "subscription %s not found", id)
	}
	return nil
}

// Subscriptions implements cti.WebhookAdmin. Secrets are not read.
func (s *Store) Subscriptions(ctx context.Context) ([]cti.WebhookSubscription, error) {
	rows, err := s.db.Pool.Query(ctx, `select id::text, url, events, active, created_at, updated_at from webhook_subscriptions
		order by created_at, id`)
	if err != nil {
		return nil, dbError(err, "read subscriptions")
	}
	out := []cti.WebhookSubscription{}
	for rows.Next() {
		var w cti.WebhookSubscription
		if err := rows.Scan(&w.ID, &w.URL, &w.Events, &w.Active, &w.CreatedAt, &w.UpdatedAt); err != nil {
			rows.Close()
			return nil, dbError(err, "read subscriptions")
		}
		w.CreatedAt, w.UpdatedAt = w.CreatedAt.UTC(), w.UpdatedAt.UTC()
		out = append(out, w)
	}
	return out, dbError(rows.Err(), "read subscriptions")
}

// DeadLetters implements cti.WebhookAdmin.
func (s *Store) DeadLetters(ctx context.Context, limit int) ([]cti.DeadLetter, error) {
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	rows, err := s.db.Pool.Query(ctx, `select d.subscription_id::text, s.url, o.id::text, o.type, o.key, o.occurred_at, o.payload,
			d.attempts, d.last_status, d.last_error, d.next_at
		from webhook_deliveries d join outbox o on o.id = d.event_id join webhook_subscriptions s on s.id = d.subscription_id
		where d.state = 'dead' order by d.seq limit $1`, limit)
	if err != nil {
		return nil, dbError(err, "read dead letters")
	}
	out := []cti.DeadLetter{}
	for rows.Next() {
		var d cti.DeadLetter
		var payload []byte
		if err := rows.Scan(&d.SubscriptionID, &d.URL, &d.Event.ID, &d.Event.Type, &d.Event.Key, &d.Event.OccurredAt, &payload,
			&d.Attempts, &d.LastStatus, &d.LastError, &d.FailedAt); err != nil {
			rows.Close()
			return nil, dbError(err, "read dead letters")
		}
		d.Event.Data, d.Event.OccurredAt, d.FailedAt = payload, d.Event.OccurredAt.UTC(), d.FailedAt.UTC()
		out = append(out, d)
	}
	return out, dbError(rows.Err(), "read dead letters")
}

// ReplayDeadLetter implements cti.WebhookAdmin.
func (s *Store) ReplayDeadLetter(ctx context.Context, subscriptionID, eventID string) error {
	if _, err := parseID(subscriptionID, "subscription"); err != nil {
		return err
	}
	if _, err := parseID(eventID, "event"); err != nil {
		return err
	}
	tag, err := s.db.Pool.Exec(ctx, `update webhook_deliveries set state = 'pending', attempts = 0, next_at = $3, last_error = ''
		where subscription_id = $1 and event_id = $2 and state = 'dead'`, subscriptionID, eventID, s.now())
	if err != nil {
		return dbError(err, "replay dead letter")
	}
	if tag.RowsAffected() == 0 {
		return cti.Errorf(cti.ENOTFOUND, "no dead letter of event %s for subscription %s", eventID, subscriptionID)
	}
	return nil
}

// PruneOutbox implements cti.Outbox: it deletes up to limit events that occurred before cutoff and whose every delivery was
// delivered before cutoff (their deliveries go with them). An event with a pending delivery or a dead letter stays, for the
// worker or for an admin's replay. Several workers may prune at once: each skips the events another has locked.
func (s *Store) PruneOutbox(ctx context.Context, cutoff time.Time, limit int) (int, error) {
	if limit <= 0 {
		return 0, nil
	}
	tag, err := s.db.Pool.Exec(ctx, `with old as (
			select o.id from outbox o
			where o.occurred_at < $1 and not exists (select 1 from webhook_deliveries d
				where d.event_id = o.id and (d.state <> 'delivered' or d.delivered_at >= $1))
			order by o.occurred_at limit $2
			for update skip locked)
		delete from outbox o using old where o.id = old.id`, cutoff.UTC(), limit)
	if err != nil {
		return 0, dbError(err, "prune outbox")
	}
	return int(tag.RowsAffected()), nil
}
