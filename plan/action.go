package plan

import (
	"encoding/json"
	"fmt"
)

// Action is what apply does to a resource. Its value is its display symbol
// (Terraform's plans.Action trick).
type Action rune

const (
	NoOp    Action = 0
	Create  Action = '+'
	Update  Action = '~'
	Replace Action = '±' // delete, then create
	Delete  Action = '-'
)

// String returns the action's name: "create", "update", ….
func (a Action) String() string {
	switch a {
	case NoOp:
		return "no-op"
	case Create:
		return "create"
	case Update:
		return "update"
	case Replace:
		return "replace"
	case Delete:
		return "delete"
	}
	return fmt.Sprintf("Action(%q)", rune(a))
}

// Symbol is the one-character display form (" " for NoOp).
func (a Action) Symbol() string {
	if a == NoOp {
		return " "
	}
	return string(a)
}

func (a Action) MarshalJSON() ([]byte, error) { return json.Marshal(a.String()) }

func (a *Action) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	for _, x := range []Action{NoOp, Create, Update, Replace, Delete} {
		if x.String() == s {
			*a = x
			return nil
		}
	}
	return fmt.Errorf("plan: unknown action %q", s)
}
