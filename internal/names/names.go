// Package names checks the names that become file names in a table's
// directory, before any path is built from them.
package names

import (
	"fmt"
	"regexp"
	"strings"
)

// valid is what a column name may be: it becomes a file name, so no
// separators, no leading dot, nothing a shell or another OS would mangle.
var valid = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$`)

// Validate checks a column name.
func Validate(name string) error {
	if !valid.MatchString(name) || strings.Contains(name, "..") {
		return fmt.Errorf("column name %q: use 1-128 letters, digits, '_', '-' or '.', not starting with '.' and without '..'", name)
	}
	return nil
}
