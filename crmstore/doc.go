// Package crmstore is Switchboard's CRM on PostgreSQL: customers and their numbers, interactions, call scripts, agents, skills and
// queue configuration, and the audit log. It implements the cti store ports over pgx and owns the schema, whose migrations are
// embedded in the binary.
//
// It imports cti and pgx; it never imports another adapter (cti/asterisk, agent-ui, cti/webrtcgw).
package crmstore
