package table

import (
	"fmt"
	"os"

	"github.com/mmapvec/persistence/internal/varcol"
)

// Tools that read a table without its Go row type (opened as [Any]) read
// each column's element bytes and decode them by the layout the manifest
// records; they also tell their user whether a writer is at work.

// AppendElem appends a copy of the bytes of row i of the named column (its
// manifest name or Go field name) to dst and returns the extended slice:
// the element in this machine's byte order, laid out as the column's
// [persistence.Layout] in [Table.Manifest] says. It works on a table of
// any row type, [Any] included, and never gives access to the file's
// memory. A name that is no column is an [ErrNoColumn] error; an i out of
// range, [ErrRange]. A reader beside a writer reads rows as one state of
// the table inside [Table.Consistent].
func (t *core) AppendElem(dst []byte, column string, i int) ([]byte, error) {
	if err := t.check(false); err != nil {
		return dst, err
	}
	c, ok := t.spec(column)
	if !ok {
		return dst, fmt.Errorf("%w: %q in %s (columns: %s)", ErrNoColumn, column, t.dir, t.columnNames())
	}
	if err := t.inRange("AppendElem", i); err != nil {
		return dst, err
	}
	return append(dst, t.colByName(c.Name).ElemBytes(i)...), nil
}

// AppendValue appends a copy of row i's value in the named column to dst:
// for a string, []byte or Symbol column, the value's bytes; for any other
// column, its element, as [Table.AppendElem] does. It is how tools print
// the values of a table whose row type they do not know.
func (t *core) AppendValue(dst []byte, column string, i int) ([]byte, error) {
	if err := t.check(false); err != nil {
		return dst, err
	}
	c, ok := t.spec(column)
	if !ok || !c.Variable() {
		return t.AppendElem(dst, column, i)
	}
	if err := t.inRange("AppendValue", i); err != nil {
		return dst, err
	}
	v := t.varByName(c.Name)
	if v.dict != nil {
		return append(dst, v.dict.String(*(*uint32)(elemAt(v, i)))...), nil
	}
	return append(dst, v.heap.Bytes(*(*varcol.Span)(elemAt(v, i)))...), nil
}

// Writer reports whether a writer has the table open, and its pid. On a
// reader it reads the READERS page now: a writer of this boot that has not
// closed the table and whose process runs (in this pid namespace). A
// writable table is its own writer. A table of an earlier format, whose
// writers publish nothing to readers, and a closed one report none.
func (t *core) Writer() (pid int, open bool) {
	switch {
	case t.closed || t.readers == nil:
		return 0, false
	case !t.opts.ReadOnly:
		return os.Getpid(), true
	}
	st, err := t.readers.glance()
	if err != nil || !st.running() {
		return 0, false
	}
	return st.pid, true
}
