-- Callers identify themselves in the IVR by account number, kept in the custom field "account"; an account belongs to one live
-- customer.
create unique index customers_account on customers ((fields ->> 'account')) where deleted_at is null and fields ? 'account';
