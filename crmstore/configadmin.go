package crmstore

import "github.com/switchboard-cc/switchboard/cti"

// The configuration writes of the admin forms (PutAgent, PutQueue, PutSkill, PutScript, PutDisposition, PutReasonCode) live in
// config.go next to the reads; this file checks that they make up the cti.ConfigAdmin port the agent-ui uses.
var _ cti.ConfigAdmin = (*Store)(nil)
