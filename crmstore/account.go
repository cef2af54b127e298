package crmstore

import (
	"context"
	"errors"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/switchboard-cc/switchboard/cti"
)

// CustomerByAccount finds the customer whose custom field "account" is account, as a caller types it in the IVR. ENOTFOUND when
// none has it.
func (s *Store) CustomerByAccount(ctx context.Context, account string) (*cti.Customer, error) {
	account = strings.TrimSpace(account)
	if account == "" || len(account) > 64 {
		return nil, cti.Invalid("account", "an account number has 1 to 64 characters")
	}
	c, err := scanCustomer(s.db.Pool.QueryRow(ctx, customerSelect+` where c.fields ->> 'account' = $1 and c.fields ? 'account' and c.deleted_at is null`, account))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, cti.Errorf(cti.ENOTFOUND, "no customer has account %s", account)
	}
	return c, dbError(err, "find customer by account")
}

// checkAccount reports an account number that belongs to another live customer, naming them.
func checkAccount(ctx context.Context, tx pgx.Tx, id string, fields map[string]string) error {
	account, ok := fields["account"]
	if !ok {
		return nil
	}
	var ownerID, ownerName string
	err := tx.QueryRow(ctx, `select id, name from customers where fields ->> 'account' = $1 and fields ? 'account'
		and deleted_at is null and id <> $2`, account, id).Scan(&ownerID, &ownerName)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil
	}
	if err != nil {
		return err
	}
	return &cti.Error{Code: cti.ECONFLICT, Field: "fields.account",
		Message: "account " + account + " belongs to customer " + ownerName + " (" + ownerID + ")"}
}
