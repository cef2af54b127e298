package cti

import (
	"context"
	"time"
)

// Session is a signed-in staff member's server-side session. The browser holds a random token; the store keeps only its SHA-256,
// so a leaked database cannot be replayed as cookies.
type Session struct {
	ID          string    `json:"id"` // the row's id, safe to show and to revoke by; never the token
	AgentID     string    `json:"agent_id"`
	Login       string    `json:"login"`
	DisplayName string    `json:"display_name"`
	Role        Role      `json:"role"`
	CreatedAt   time.Time `json:"created_at"`
	LastSeen    time.Time `json:"last_seen"`
	ExpiresAt   time.Time `json:"expires_at"`
	Remote      string    `json:"remote,omitempty"`
	UserAgent   string    `json:"user_agent,omitempty"`
}

// Sessions keeps server-side sessions. Get returns EUNAUTHORIZED for a token that is unknown, expired or revoked, or whose agent
// is disabled, so the web layer answers all of them alike.
type Sessions interface {
	// Create starts a session for agentID that expires after idle without use, and returns it with the token to hand to the
	// browser (random, 32 bytes, URL-safe base64).
	Create(ctx context.Context, agentID string, idle time.Duration, remote, userAgent string) (token string, s *Session, err error)
	// Get returns the live session of token, with the agent's current login, name and role.
	Get(ctx context.Context, token string) (*Session, error)
	// Touch records use of session id now and pushes its expiry to now+idle.
	Touch(ctx context.Context, id string, idle time.Duration) error
	// Revoke ends one session; revoking an ended session is not an error.
	Revoke(ctx context.Context, id string) error
	// RevokeAgent ends every live session of an agent (force logout) and returns how many it ended.
	RevokeAgent(ctx context.Context, agentID string) (int, error)
}

// ConfigAdmin writes the contact center's configuration (the admin forms). Every write is validated by the store; a bad value is
// EINVALID naming its field.
type ConfigAdmin interface {
	// PutAgent creates or updates an agent by login with its skills and queue memberships; password "" keeps the current one
	// (a new agent needs one). a.ID is filled in.
	PutAgent(ctx context.Context, a *AgentConfig, password string) error
	// PutQueue creates or replaces a queue, escalation steps included.
	PutQueue(ctx context.Context, q QueueConfig) error
	// PutSkill adds a skill to the catalogue or relabels it.
	PutSkill(ctx context.Context, s Skill) error
	// PutScript stores a new version of a queue's script and fills in ID, Version and CreatedAt.
	PutScript(ctx context.Context, sc *Script) error
	// PutDisposition adds or relabels a wrap-up code at a display position.
	PutDisposition(ctx context.Context, d Disposition, position int) error
	// PutReasonCode adds or relabels a not-ready reason at a display position.
	PutReasonCode(ctx context.Context, r ReasonCode, position int) error
}
