package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/sirupsen/logrus"
	"github.com/vmware-tanzu/velero/pkg/plugin/framework"
)

const (
	// RootEnv names the environment variable holding the store's root directory.
	RootEnv = "KVP_FS_OBJECT_STORE_ROOT"
	// RootConfigKey is the BackupStorageLocation config key that overrides RootEnv.
	RootConfigKey = "root"

	// tmpPrefix marks in-flight uploads; such files are never listed.
	tmpPrefix = ".kvp-upload-"
)

// FileObjectStore implements velero.ObjectStore (pkg/plugin/velero) on a directory.
type FileObjectStore struct {
	log  logrus.FieldLogger
	root string
}

// NewFileObjectStore returns an uninitialised store; Velero calls Init next.
func NewFileObjectStore(log logrus.FieldLogger) *FileObjectStore {
	return &FileObjectStore{log: log}
}

// Init reads the root directory from the config ("root") or the environment.
func (s *FileObjectStore) Init(config map[string]string) error {
	// Velero adds bucket, prefix, caCert (always valid) and credentialsFile
	// (when the BSL names a credential) to the config.
	if err := framework.ValidateObjectStoreConfigKeys(config, RootConfigKey, "credentialsFile"); err != nil {
		return err
	}
	root := config[RootConfigKey]
	if root == "" {
		root = os.Getenv(RootEnv)
	}
	if root == "" {
		return fmt.Errorf("no root directory: set BackupStorageLocation config %q or env %s", RootConfigKey, RootEnv)
	}
	abs, err := filepath.Abs(root)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(abs, 0o755); err != nil {
		return err
	}
	s.root = abs
	s.log.WithField("root", abs).Debug("filesystem object store initialised")
	return nil
}

func (s *FileObjectStore) bucketDir(bucket string) (string, error) {
	if s.root == "" {
		return "", errors.New("object store not initialised")
	}
	if bucket == "" || bucket == "." || bucket == ".." || strings.ContainsAny(bucket, `/\`) {
		return "", fmt.Errorf("invalid bucket name %q", bucket)
	}
	return filepath.Join(s.root, bucket), nil
}

// objectPath maps a key to a file, refusing keys that would escape the bucket.
func (s *FileObjectStore) objectPath(bucket, key string) (string, error) {
	dir, err := s.bucketDir(bucket)
	if err != nil {
		return "", err
	}
	if key == "" || strings.HasSuffix(key, "/") {
		return "", fmt.Errorf("invalid object key %q", key)
	}
	for _, part := range strings.Split(key, "/") {
		if part == "" || part == "." || part == ".." || strings.HasPrefix(part, tmpPrefix) {
			return "", fmt.Errorf("invalid object key %q", key)
		}
	}
	return filepath.Join(dir, filepath.FromSlash(key)), nil
}

// PutObject writes body atomically (temporary file + rename).
func (s *FileObjectStore) PutObject(bucket, key string, body io.Reader) error {
	p, err := s.objectPath(bucket, key)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(p), tmpPrefix+"*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // no-op after a successful rename
	if _, err := io.Copy(tmp, body); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), p)
}

// ObjectExists reports whether a regular file exists for the key.
func (s *FileObjectStore) ObjectExists(bucket, key string) (bool, error) {
	p, err := s.objectPath(bucket, key)
	if err != nil {
		return false, err
	}
	fi, err := os.Stat(p)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return fi.Mode().IsRegular(), nil
}

// GetObject opens the object for reading.
func (s *FileObjectStore) GetObject(bucket, key string) (io.ReadCloser, error) {
	p, err := s.objectPath(bucket, key)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
		f.Close()
		return nil, fmt.Errorf("object %q in bucket %q is not a regular file", key, bucket)
	}
	return f, nil
}

// allKeys returns every object key in the bucket with the given prefix, sorted.
// A missing bucket directory is an empty bucket.
func (s *FileObjectStore) allKeys(bucket, prefix string) ([]string, error) {
	dir, err := s.bucketDir(bucket)
	if err != nil {
		return nil, err
	}
	var keys []string
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if !d.Type().IsRegular() || strings.HasPrefix(d.Name(), tmpPrefix) {
			return nil
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		key := filepath.ToSlash(rel)
		if strings.HasPrefix(key, prefix) {
			keys = append(keys, key)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	sort.Strings(keys)
	return keys, nil
}

// ListCommonPrefixes follows S3 semantics: for every key starting with prefix,
// if the rest of the key contains delimiter, prefix + rest up to and including
// the first delimiter is a common prefix. Keys without a further delimiter are
// not returned. An empty delimiter yields no prefixes.
func (s *FileObjectStore) ListCommonPrefixes(bucket, prefix, delimiter string) ([]string, error) {
	keys, err := s.allKeys(bucket, prefix)
	if err != nil {
		return nil, err
	}
	if delimiter == "" {
		return []string{}, nil
	}
	seen := map[string]bool{}
	out := []string{}
	for _, k := range keys {
		rest := k[len(prefix):]
		i := strings.Index(rest, delimiter)
		if i < 0 {
			continue
		}
		cp := prefix + rest[:i+len(delimiter)]
		if !seen[cp] {
			seen[cp] = true
			out = append(out, cp)
		}
	}
	sort.Strings(out)
	return out, nil
}

// ListObjects returns all keys with the given prefix (recursively), sorted.
func (s *FileObjectStore) ListObjects(bucket, prefix string) ([]string, error) {
	keys, err := s.allKeys(bucket, prefix)
	if keys == nil && err == nil {
		keys = []string{}
	}
	return keys, err
}

// DeleteObject removes the object; deleting a missing object succeeds (as on S3).
// Directories left empty are pruned up to the bucket directory.
func (s *FileObjectStore) DeleteObject(bucket, key string) error {
	p, err := s.objectPath(bucket, key)
	if err != nil {
		return err
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	dir, _ := s.bucketDir(bucket)
	for d := filepath.Dir(p); d != dir && strings.HasPrefix(d, dir+string(filepath.Separator)); d = filepath.Dir(d) {
		if os.Remove(d) != nil { // fails when not empty
			break
		}
	}
	return nil
}

// CreateSignedURL returns a file:// URL of the object. There is no HTTP server:
// the velero CLI's download commands (backup logs/describe --details) cannot
// fetch it, but a test harness on the same machine can read the path.
func (s *FileObjectStore) CreateSignedURL(bucket, key string, _ time.Duration) (string, error) {
	p, err := s.objectPath(bucket, key)
	if err != nil {
		return "", err
	}
	u := url.URL{Scheme: "file", Path: filepath.ToSlash(p)}
	return u.String(), nil
}
