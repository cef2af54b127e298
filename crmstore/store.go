package crmstore

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/switchboard-cc/switchboard/cti"
)

// Store is the CRM on PostgreSQL. It implements the cti CRM ports; every method is safe for concurrent use and honours its context.
type Store struct {
	db     *DB
	region string
	cache  *configCache
}

// Options configure a Store.
type Options struct {
	// Region is the ISO 3166 region numbers without a country code are read in (DefaultRegion when empty).
	Region string
}

// NewStore returns a Store over db.
func NewStore(db *DB, opts Options) *Store {
	if opts.Region == "" {
		opts.Region = DefaultRegion
	}
	return &Store{db: db, region: strings.ToUpper(opts.Region), cache: newConfigCache()}
}

// DB returns the store's database.
func (s *Store) DB() *DB { return s.db }

var (
	_ cti.CustomerLookup = (*Store)(nil)
	_ cti.InteractionLog = (*Store)(nil)
	_ cti.Config         = (*Store)(nil)
	_ cti.CustomerAdmin  = (*Store)(nil)
	_ cti.Auditor        = (*Store)(nil)
)

// now reads the clock once, in UTC and at the database's precision, so every row a call writes agrees on the time.
func (s *Store) now() time.Time { return s.db.Now().UTC().Truncate(time.Microsecond) }

// newID returns a new UUIDv7 string.
func newID() string { return uuid.Must(uuid.NewV7()).String() }

// parseID parses an id given by a caller; a malformed one cannot exist, so it is reported as not found.
func parseID(id, what string) (uuid.UUID, error) {
	u, err := uuid.Parse(id)
	if err != nil {
		return uuid.UUID{}, cti.Errorf(cti.ENOTFOUND, "%s %q not found", what, id)
	}
	return u, nil
}

// PostgreSQL error codes the store turns into application errors.
const (
	pgUniqueViolation     = "23505"
	pgForeignKeyViolation = "23503"
	pgCheckViolation      = "23514"
	pgNotNullViolation    = "23502"
	pgInvalidText         = "22P02"
)

// dbError turns a driver error into a *cti.Error: EUNAVAILABLE when the database cannot answer, the error itself when it already is
// one, EINTERNAL otherwise.
func dbError(err error, what string) error {
	if err == nil {
		return nil
	}
	var ce *cti.Error
	if errors.As(err, &ce) {
		return err
	}
	var connErr *pgconn.ConnectError
	switch {
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return &cti.Error{Code: cti.EUNAVAILABLE, Message: what + ": the database did not answer in time", Err: err}
	case errors.As(err, &connErr), pgconn.SafeToRetry(err):
		return &cti.Error{Code: cti.EUNAVAILABLE, Message: what + ": the database cannot be reached", Err: err}
	}
	return cti.Internal(err, what)
}

func pgCode(err error) (code, constraint string) {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code, pe.ConstraintName
	}
	return "", ""
}

// inTx runs f in one transaction, committed when f returns nil.
func (s *Store) inTx(ctx context.Context, what string, f func(tx pgx.Tx) error) error {
	err := pgx.BeginFunc(ctx, s.db.Pool, f)
	return dbError(err, what)
}

// likePrefix returns a LIKE pattern matching strings that start with p.
func likePrefix(p string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return r.Replace(p) + "%"
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func utc(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return t.UTC()
}

func invalidFields(msg string, fields map[string]string) error {
	if len(fields) == 0 {
		return nil
	}
	e := &cti.Error{Code: cti.EINVALID, Message: msg, Fields: fields}
	if len(fields) == 1 {
		for k, v := range fields {
			e.Field, e.Message = k, v
		}
	}
	return e
}

func fieldMessage(err error) string {
	var ce *cti.Error
	if errors.As(err, &ce) {
		return ce.Message
	}
	return fmt.Sprint(err)
}
