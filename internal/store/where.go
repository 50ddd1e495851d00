package store

import (
	"slices"
	"strconv"
	"strings"
)

// sqlArgs are a statement's arguments, numbered as they are added: each
// gets the next placeholder, $1, $2, …, which both databases bind by
// number wherever it stands in the statement's text. A statement built in
// pieces (conditions, a SELECT list with arguments of its own, a LIMIT)
// takes every piece's placeholders from the same sqlArgs, in any order.
type sqlArgs struct {
	args []any
}

// arg adds v and returns its placeholder.
func (a *sqlArgs) arg(v any) string {
	a.args = append(a.args, v)
	return "$" + strconv.Itoa(len(a.args))
}

// list adds n values, arg(0) to arg(n-1), and returns their placeholders,
// comma-separated: the inside of an IN list.
func (a *sqlArgs) list(n int, arg func(i int) any) string {
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(a.arg(arg(i)))
	}
	return b.String()
}

// whereBuilder builds a WHERE clause: conditions joined with AND, whose
// placeholders come from its sqlArgs.
type whereBuilder struct {
	sqlArgs
	conds []string
}

// add adds a condition, written with placeholders from w.arg or w.list.
func (w *whereBuilder) add(cond string) {
	w.conds = append(w.conds, cond)
}

// in adds the condition that column is one of n values.
func (w *whereBuilder) in(column string, n int, arg func(i int) any) {
	w.add(column + ` IN (` + w.list(n, arg) + `)`)
}

// clone returns a copy of w to add more to, leaving w as it is.
func (w *whereBuilder) clone() *whereBuilder {
	return &whereBuilder{sqlArgs: sqlArgs{args: slices.Clone(w.args)}, conds: slices.Clone(w.conds)}
}

// sql is the WHERE clause, "" when there are no conditions.
func (w *whereBuilder) sql() string {
	if len(w.conds) == 0 {
		return ""
	}
	return ` WHERE ` + w.and()
}

// and is the conditions joined with AND; a true condition when there are none.
func (w *whereBuilder) and() string {
	if len(w.conds) == 0 {
		return `1 = 1`
	}
	return strings.Join(w.conds, ` AND `)
}
