package bench

import (
	"encoding/binary"
	"errors"

	bolt "go.etcd.io/bbolt"
)

var boltBucket = []byte("rows")

// Bolt commits each batch in one Update, bbolt's unit of durability.
type Bolt struct{ db *bolt.DB }

func OpenBolt(path string) (*Bolt, error) {
	db, err := bolt.Open(path, 0o644, nil)
	if err != nil {
		return nil, err
	}
	err = db.Update(func(tx *bolt.Tx) error {
		_, err := tx.CreateBucketIfNotExists(boltBucket)
		return err
	})
	if err != nil {
		db.Close()
		return nil, err
	}
	return &Bolt{db: db}, nil
}

func (b *Bolt) Commit(rs []Row) error {
	return b.db.Update(func(tx *bolt.Tx) error {
		bk := tx.Bucket(boltBucket)
		// Keys only ever grow, so full pages are best, as an append-only user would set.
		bk.FillPercent = 1
		var key [8]byte
		for i := range rs {
			binary.BigEndian.PutUint64(key[:], uint64(rs[i].ID))
			if err := bk.Put(key[:], RowBytes(rs[i:i+1])); err != nil {
				return err
			}
		}
		return nil
	})
}

func (b *Bolt) Rows() (int, error) {
	n := 0
	err := b.db.View(func(tx *bolt.Tx) error {
		bk := tx.Bucket(boltBucket)
		if bk == nil {
			return errors.New("bbolt: bucket missing")
		}
		n = bk.Stats().KeyN
		return nil
	})
	return n, err
}

func (b *Bolt) Close() error { return b.db.Close() }
