package crmstore

import (
	"context"
	"time"

	"github.com/switchboard-cc/switchboard/cti"
)

// openBefore reads the interactions still open that arrived before $1, oldest first. It runs once when a controller starts
// (engine reconcile), so it reads the table without an index of its own: a partial index on open rows would be written on
// every call's start and updates for the sake of this one read.
const openBefore = interactionSelect + ` where ended_at is null and arrived_at < $1
	order by interactions.arrived_at, interactions.id`

// OpenInteractions returns the interactions not ended that arrived before before, oldest first: after a restart, those a
// stopped controller left open. The engine resumes the ones whose caller is still on the line and finishes the others.
func (s *Store) OpenInteractions(ctx context.Context, before time.Time) ([]cti.Interaction, error) {
	if before.IsZero() {
		return nil, cti.Invalid("before", "required")
	}
	rows, err := s.db.Pool.Query(ctx, openBefore, before.UTC())
	if err != nil {
		return nil, dbError(err, "read open interactions")
	}
	defer rows.Close()
	var out []cti.Interaction
	for rows.Next() {
		var in cti.Interaction
		if err := scanInteractionInto(rows, &in); err != nil {
			return nil, dbError(err, "read open interactions")
		}
		out = append(out, in)
	}
	return out, dbError(rows.Err(), "read open interactions")
}
