package bench

import (
	"os"

	"github.com/parquet-go/parquet-go"
)

// WriteParquet writes rows with parquet-go's GenericWriter. Parquet buffers a
// row group and encodes it on flush, so Close is part of the cost.
func WriteParquet(path string, rs []Row) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := parquet.NewGenericWriter[Row](f)
	if _, err := w.Write(rs); err != nil {
		f.Close()
		return err
	}
	if err := w.Close(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// ParquetRows reads back the row count of a parquet file, for tests.
func ParquetRows(path string) (int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return 0, err
	}
	pf, err := parquet.OpenFile(f, st.Size())
	if err != nil {
		return 0, err
	}
	return pf.NumRows(), nil
}
