package cti

import "context"

// The CRM ports. crmstore implements all of them over PostgreSQL; the engine and the agent-ui each take only the ones they use.
// Every method returns *Error codes: ENOTFOUND, EINVALID (Field named), ECONFLICT, EPRECONDITION, EUNAVAILABLE or EINTERNAL.

// CustomerLookup finds who is calling and what happened before.
type CustomerLookup interface {
	// LookupByPhone finds the customer owning a number given in any common format (E.164, national, with spaces or dashes).
	// An unknown number is ENOTFOUND; one that cannot be a phone number is EINVALID.
	LookupByPhone(ctx context.Context, raw string) (*Customer, error)
	Customer(ctx context.Context, id string) (*Customer, error)
	// Timeline returns a customer's interactions, newest first, limit at a time. cursor is "" for the first page, then the next
	// value of the previous page; next is "" after the last page.
	Timeline(ctx context.Context, customerID, cursor string, limit int) (items []Interaction, next string, err error)
	Interaction(ctx context.Context, id string) (*Interaction, error)
}

// InteractionLog records contacts as they happen. Writes that a retry after a crash could repeat are idempotent.
type InteractionLog interface {
	// StartInteraction stores a new interaction; an empty ID is filled with a new UUIDv7. Starting the same interaction again
	// with the same content is not an error; with a different content it is ECONFLICT.
	StartInteraction(ctx context.Context, in *Interaction) error
	UpdateInteraction(ctx context.Context, id string, u InteractionUpdate) error
	FinishInteraction(ctx context.Context, id string, f InteractionFinish) error
	// SetDisposition records the wrap-up code an agent chose and their notes; the code must belong to the interaction's queue.
	SetDisposition(ctx context.Context, id, agentID, code, notes string) error
	// LogInteractions stores many finished interactions in one transaction (bulk import, high volume).
	LogInteractions(ctx context.Context, ins []Interaction) error
}

// InteractionWriter applies queued changes of interactions in batches, the way the engine records calls: one round trip for
// many calls, and a retry of a failed batch repeats nothing (every write is idempotent).
type InteractionWriter interface {
	// WriteInteractions applies ws in order in one transaction; the changes of one interaction keep their order, and each
	// change's webhook events commit with it. A write the store refuses (EINVALID, ENOTFOUND, ECONFLICT) is skipped and reported
	// at its index in rejected (nil when none was), the others are applied. err is set when the batch could not be written
	// (the database down, a timeout): nothing is known to have committed and the caller retries the whole batch.
	WriteInteractions(ctx context.Context, ws []InteractionWrite) (rejected []error, err error)
}

// Config is the contact center's configuration as the engine and the UI read it.
type Config interface {
	Agents(ctx context.Context) ([]AgentConfig, error)
	Queues(ctx context.Context) ([]QueueConfig, error)
	Skills(ctx context.Context) ([]Skill, error)
	// Dispositions returns the codes usable in queue: its own and the global ones.
	Dispositions(ctx context.Context, queue string) ([]Disposition, error)
	ReasonCodes(ctx context.Context) ([]ReasonCode, error)
	// Script returns the newest script of queue for tier, falling back to the queue's script for every tier.
	Script(ctx context.Context, queue string, tier Tier) (*Script, error)
	AgentByLogin(ctx context.Context, login string) (*AgentConfig, error)
	// VerifyPassword returns the agent when login and password match; otherwise EUNAUTHORIZED, the same for both mistakes.
	VerifyPassword(ctx context.Context, login, password string) (*AgentConfig, error)
}

// CustomerAdmin edits customers. Updates and deletes carry the version they read; a stale one is EPRECONDITION.
// A number or address owned by another customer is ECONFLICT naming that customer.
type CustomerAdmin interface {
	// CreateCustomer stores c with its numbers and addresses and fills in ID, Version and the timestamps.
	CreateCustomer(ctx context.Context, c *Customer) error
	// UpdateCustomer writes c's fields if c.Version is current; non-nil Phones and Emails replace the stored sets. On success c
	// holds the stored customer.
	UpdateCustomer(ctx context.Context, c *Customer) error
	// DeleteCustomer soft-deletes: the customer keeps its history but disappears from lookups, and its numbers become free.
	DeleteCustomer(ctx context.Context, id string, version int64) error
	AddPhone(ctx context.Context, customerID string, p Phone) (*Customer, error)
	RemovePhone(ctx context.Context, customerID, number string) (*Customer, error)
	AddEmail(ctx context.Context, customerID string, e Email) (*Customer, error)
	RemoveEmail(ctx context.Context, customerID, address string) (*Customer, error)
	// SearchCustomers finds customers by name or company prefix, number or e-mail prefix, and by similar names when no prefix
	// matches, best first.
	SearchCustomers(ctx context.Context, q string, limit int) ([]Customer, error)
}

// Auditor appends to the audit log.
type Auditor interface {
	Audit(ctx context.Context, e AuditEntry) error
}
