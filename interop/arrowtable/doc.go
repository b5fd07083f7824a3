// Package arrowtable gives a table's rows as Arrow record batches, with
// the fixed-size columns' buffers pointing into the table's mapping.
package arrowtable
