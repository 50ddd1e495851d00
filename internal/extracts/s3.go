package extracts

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// S3Storage keeps the files in a bucket of an S3-compatible service, under
// a prefix, so that every server sharing the database serves every file.
type S3Storage struct {
	Client *minio.Client
	Bucket string
	Prefix string // "extractions/"
}

// NewS3Storage connects to the bucket of rawURL, http(s)://host[:port]/bucket
// with an optional ?region=, with a pair of keys. The bucket must exist.
func NewS3Storage(rawURL, accessKey, secretKey string, transport http.RoundTripper) (*S3Storage, error) {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, errors.New("want http(s)://host[:port]/bucket")
	}
	bucket := strings.Trim(u.Path, "/")
	if bucket == "" || strings.Contains(bucket, "/") {
		return nil, errors.New("want http(s)://host[:port]/bucket")
	}
	c, err := minio.New(u.Host, &minio.Options{Creds: credentials.NewStaticV4(accessKey, secretKey, ""), Secure: u.Scheme == "https",
		Region: u.Query().Get("region"), Transport: transport, BucketLookup: minio.BucketLookupPath})
	if err != nil {
		return nil, err
	}
	return &S3Storage{Client: c, Bucket: bucket, Prefix: "extractions/"}, nil
}

// Check tells whether the bucket answers and exists, for the start of a
// server.
func (s *S3Storage) Check(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	ok, err := s.Client.BucketExists(ctx, s.Bucket)
	if err != nil {
		return fmt.Errorf("bucket %s: %w", s.Bucket, err)
	}
	if !ok {
		return fmt.Errorf("bucket %s does not exist", s.Bucket)
	}
	return nil
}

// Put uploads the local file, then removes it.
func (s *S3Storage) Put(ctx context.Context, name, path string) error {
	if _, err := s.Client.FPutObject(ctx, s.Bucket, s.Prefix+name, path, minio.PutObjectOptions{}); err != nil {
		return fmt.Errorf("upload extraction: %w", err)
	}
	return nil
}

// Open opens a stored file: reads and seeks go to the bucket as ranges.
func (s *S3Storage) Open(ctx context.Context, name string) (Object, error) {
	obj, err := s.Client.GetObject(ctx, s.Bucket, s.Prefix+name, minio.GetObjectOptions{})
	if err != nil {
		return nil, err
	}
	info, err := obj.Stat()
	if err != nil {
		obj.Close()
		return nil, err
	}
	return &s3Object{Object: obj, info: info}, nil
}

type s3Object struct {
	*minio.Object
	info minio.ObjectInfo
}

func (o *s3Object) Size() int64        { return o.info.Size }
func (o *s3Object) ModTime() time.Time { return o.info.LastModified }

// Remove deletes a stored file.
func (s *S3Storage) Remove(ctx context.Context, name string) error {
	err := s.Client.RemoveObject(ctx, s.Bucket, s.Prefix+name, minio.RemoveObjectOptions{})
	if resp := minio.ToErrorResponse(err); resp.Code == "NoSuchKey" {
		return nil
	}
	return err
}

// List lists the stored files.
func (s *S3Storage) List(ctx context.Context) ([]StoredFile, error) {
	var out []StoredFile
	for obj := range s.Client.ListObjects(ctx, s.Bucket, minio.ListObjectsOptions{Prefix: s.Prefix, Recursive: true}) {
		if obj.Err != nil {
			return nil, obj.Err
		}
		out = append(out, StoredFile{Name: strings.TrimPrefix(obj.Key, s.Prefix), ModTime: obj.LastModified})
	}
	return out, nil
}
