package store

import (
	"context"
	"fmt"
	"time"

	"github.com/ticksapp/ticks/internal/domain"
)

// SetBudget creates or replaces a subaccount's monthly budget.
func (s *Store) SetBudget(ctx context.Context, b domain.Budget) error {
	if _, err := s.w.ExecContext(ctx, `INSERT INTO budgets (subaccount_id, amount_micros, webhook_url, updated_at)
		VALUES ($1, $2, $3, $4) ON CONFLICT (subaccount_id) DO UPDATE SET amount_micros = excluded.amount_micros,
		webhook_url = excluded.webhook_url, updated_at = excluded.updated_at`,
		b.SubaccountID, b.AmountMicros, b.WebhookURL, ms(b.UpdatedAt)); err != nil {
		return fmt.Errorf("set budget of subaccount %d: %w", b.SubaccountID, err)
	}
	return nil
}

// DeleteBudget removes a subaccount's budget; it reports whether there was one.
func (s *Store) DeleteBudget(ctx context.Context, subaccountID int64) (bool, error) {
	res, err := s.w.ExecContext(ctx, `DELETE FROM budgets WHERE subaccount_id = $1`, subaccountID)
	if err != nil {
		return false, fmt.Errorf("delete budget of subaccount %d: %w", subaccountID, err)
	}
	n, err := res.RowsAffected()
	return n > 0, err
}

// Budgets returns the budgets of subaccounts (every one when nil), by
// subaccount.
func (s *Store) Budgets(ctx context.Context, subaccounts []int64) ([]domain.Budget, error) {
	w := &whereBuilder{}
	if subaccounts != nil {
		if len(subaccounts) == 0 {
			return nil, nil
		}
		w.in(`subaccount_id`, len(subaccounts), func(i int) any { return subaccounts[i] })
	}
	rows, err := s.r.QueryContext(ctx, `SELECT subaccount_id, amount_micros, webhook_url, updated_at FROM budgets`+w.sql()+
		` ORDER BY subaccount_id`, w.args...)
	if err != nil {
		return nil, fmt.Errorf("budgets: %w", err)
	}
	defer rows.Close()
	var out []domain.Budget
	for rows.Next() {
		var b domain.Budget
		var at int64
		if err := rows.Scan(&b.SubaccountID, &b.AmountMicros, &b.WebhookURL, &at); err != nil {
			return nil, fmt.Errorf("budgets: %w", err)
		}
		b.UpdatedAt = fromMS(at)
		out = append(out, b)
	}
	return out, rows.Err()
}

// AddBudgetAlert records that a budget crossed a threshold in a month,
// once: it reports false when that alert was already recorded.
func (s *Store) AddBudgetAlert(ctx context.Context, a domain.BudgetAlert) (bool, error) {
	res, err := s.w.ExecContext(ctx, `INSERT INTO budget_alerts (subaccount_id, month, threshold, amount_micros, spent_micros,
		created_at, delivered_at, attempts, error) VALUES ($1, $2, $3, $4, $5, $6, 0, 0, '')
		ON CONFLICT (subaccount_id, month, threshold) DO NOTHING`,
		a.SubaccountID, a.Month, a.Threshold, a.AmountMicros, a.SpentMicros, ms(a.CreatedAt))
	if err != nil {
		return false, fmt.Errorf("add budget alert: %w", err)
	}
	n, err := res.RowsAffected()
	return n > 0, err
}

// BudgetAlerts returns the alerts of month of subaccounts (every one when
// nil); with undelivered, only those whose webhook has not been answered.
func (s *Store) BudgetAlerts(ctx context.Context, subaccounts []int64, month string, undelivered bool) ([]domain.BudgetAlert, error) {
	w := &whereBuilder{}
	if subaccounts != nil {
		if len(subaccounts) == 0 {
			return nil, nil
		}
		w.in(`subaccount_id`, len(subaccounts), func(i int) any { return subaccounts[i] })
	}
	if month != "" {
		w.add(`month = ` + w.arg(month))
	}
	if undelivered {
		w.add(`delivered_at = 0`)
	}
	rows, err := s.r.QueryContext(ctx, `SELECT subaccount_id, month, threshold, amount_micros, spent_micros, created_at,
		delivered_at, attempts, error FROM budget_alerts`+w.sql()+` ORDER BY created_at, subaccount_id, threshold`, w.args...)
	if err != nil {
		return nil, fmt.Errorf("budget alerts: %w", err)
	}
	defer rows.Close()
	var out []domain.BudgetAlert
	for rows.Next() {
		var a domain.BudgetAlert
		var created, delivered int64
		if err := rows.Scan(&a.SubaccountID, &a.Month, &a.Threshold, &a.AmountMicros, &a.SpentMicros, &created, &delivered,
			&a.Attempts, &a.Error); err != nil {
			return nil, fmt.Errorf("budget alerts: %w", err)
		}
		a.CreatedAt = fromMS(created)
		if delivered != 0 {
			t := fromMS(delivered)
			a.DeliveredAt = &t
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// BudgetAlertDelivery records an attempt to post an alert to its webhook:
// delivered at at, or failed with failure.
func (s *Store) BudgetAlertDelivery(ctx context.Context, a domain.BudgetAlert, at time.Time, failure string) error {
	delivered := int64(0)
	if failure == "" {
		delivered = ms(at)
	}
	if _, err := s.w.ExecContext(ctx, `UPDATE budget_alerts SET delivered_at = $1, attempts = attempts + 1, error = $2
		WHERE subaccount_id = $3 AND month = $4 AND threshold = $5`, delivered, failure, a.SubaccountID, a.Month, a.Threshold); err != nil {
		return fmt.Errorf("budget alert delivery: %w", err)
	}
	return nil
}

// UnseenBudgetAlerts returns the alerts of months of subaccounts (every
// one when nil) that user has not seen, oldest first.
func (s *Store) UnseenBudgetAlerts(ctx context.Context, user int64, subaccounts []int64, months []string) ([]domain.BudgetAlert, error) {
	if subaccounts != nil && len(subaccounts) == 0 || len(months) == 0 {
		return nil, nil
	}
	w := &whereBuilder{}
	if subaccounts != nil {
		w.in(`a.subaccount_id`, len(subaccounts), func(i int) any { return subaccounts[i] })
	}
	w.in(`a.month`, len(months), func(i int) any { return months[i] })
	w.add(`NOT EXISTS (SELECT 1 FROM budget_alerts_seen s WHERE s.user_id = ` + w.arg(user) + `
		AND s.subaccount_id = a.subaccount_id AND s.month = a.month AND s.threshold = a.threshold)`)
	rows, err := s.r.QueryContext(ctx, `SELECT a.subaccount_id, a.month, a.threshold, a.amount_micros, a.spent_micros,
		a.created_at FROM budget_alerts a`+w.sql()+` ORDER BY a.created_at, a.subaccount_id, a.threshold`, w.args...)
	if err != nil {
		return nil, fmt.Errorf("unseen budget alerts: %w", err)
	}
	defer rows.Close()
	var out []domain.BudgetAlert
	for rows.Next() {
		var a domain.BudgetAlert
		var created int64
		if err := rows.Scan(&a.SubaccountID, &a.Month, &a.Threshold, &a.AmountMicros, &a.SpentMicros, &created); err != nil {
			return nil, fmt.Errorf("unseen budget alerts: %w", err)
		}
		a.CreatedAt = fromMS(created)
		out = append(out, a)
	}
	return out, rows.Err()
}

// SeeBudgetAlerts records that user has seen the alerts of subaccount in
// month, of the thresholds given (every one recorded when nil). It
// returns how many alerts were newly seen.
func (s *Store) SeeBudgetAlerts(ctx context.Context, user, subaccount int64, month string, thresholds []int, at time.Time) (int64, error) {
	w := &whereBuilder{}
	atArg, userArg := w.arg(ms(at)), w.arg(user)
	w.add(`a.subaccount_id = ` + w.arg(subaccount) + ` AND a.month = ` + w.arg(month))
	if thresholds != nil {
		if len(thresholds) == 0 {
			return 0, nil
		}
		w.in(`a.threshold`, len(thresholds), func(i int) any { return thresholds[i] })
	}
	res, err := s.w.ExecContext(ctx, `INSERT INTO budget_alerts_seen (user_id, subaccount_id, month, threshold, seen_at)
		SELECT `+userArg+`, a.subaccount_id, a.month, a.threshold, `+atArg+` FROM budget_alerts a`+w.sql()+`
		ON CONFLICT (user_id, subaccount_id, month, threshold) DO NOTHING`, w.args...)
	if err != nil {
		return 0, fmt.Errorf("see budget alerts: %w", err)
	}
	return res.RowsAffected()
}
