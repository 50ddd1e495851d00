package extracts

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Storage keeps the finished files. Files are written on the local disk
// under a temporary name (Service.Dir), then handed to the storage whole:
// a file in a storage is always complete. The default keeps them in the
// same folder (DiskStorage); an S3-compatible bucket lets several servers
// share them (S3Storage).
type Storage interface {
	// Put moves the finished local file at path into the storage as name.
	Put(ctx context.Context, name, path string) error
	// Open opens a stored file for reading.
	Open(ctx context.Context, name string) (Object, error)
	// Remove deletes a stored file; one already gone is no error.
	Remove(ctx context.Context, name string) error
	// List lists the stored files with their times, for the sweep of the
	// files no extraction holds.
	List(ctx context.Context) ([]StoredFile, error)
}

// Object is a stored file open for reading.
type Object interface {
	io.ReadSeekCloser
	Size() int64
	ModTime() time.Time
}

// StoredFile is a file of a storage.
type StoredFile struct {
	Name    string
	ModTime time.Time
}

// DiskStorage keeps the files in a folder of the local disk: the folder
// the files are written in, so that Put is a rename.
type DiskStorage struct{ Dir string }

// Put renames the file into the folder.
func (d DiskStorage) Put(_ context.Context, name, path string) error {
	if err := os.MkdirAll(d.Dir, 0o750); err != nil {
		return fmt.Errorf("extractions folder: %w", err)
	}
	if err := os.Rename(path, filepath.Join(d.Dir, name)); err != nil {
		return fmt.Errorf("extraction file: %w", err)
	}
	return nil
}

// Open opens a file of the folder.
func (d DiskStorage) Open(_ context.Context, name string) (Object, error) {
	f, err := os.Open(filepath.Join(d.Dir, name))
	if err != nil {
		return nil, err
	}
	info, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	return &diskObject{File: f, info: info}, nil
}

type diskObject struct {
	*os.File
	info os.FileInfo
}

func (o *diskObject) Size() int64        { return o.info.Size() }
func (o *diskObject) ModTime() time.Time { return o.info.ModTime() }

// Remove deletes a file of the folder.
func (d DiskStorage) Remove(_ context.Context, name string) error {
	if err := os.Remove(filepath.Join(d.Dir, name)); err != nil && !os.IsNotExist(err) {
		return err
	}
	return nil
}

// List lists the finished files of the folder (not those being written).
func (d DiskStorage) List(context.Context) ([]StoredFile, error) {
	entries, err := os.ReadDir(d.Dir)
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []StoredFile
	for _, ent := range entries {
		if ent.IsDir() || strings.HasSuffix(ent.Name(), partSuffix) {
			continue
		}
		if info, err := ent.Info(); err == nil {
			out = append(out, StoredFile{Name: ent.Name(), ModTime: info.ModTime()})
		}
	}
	return out, nil
}
