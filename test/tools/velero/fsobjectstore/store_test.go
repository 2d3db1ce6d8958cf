package main

import (
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/sirupsen/logrus"
)

func newStore(t *testing.T) (*FileObjectStore, string) {
	t.Helper()
	root := t.TempDir()
	s := NewFileObjectStore(logrus.New())
	if err := s.Init(map[string]string{"bucket": "b", "prefix": "", RootConfigKey: root}); err != nil {
		t.Fatal(err)
	}
	return s, root
}

func TestInitRejectsUnknownKeys(t *testing.T) {
	s := NewFileObjectStore(logrus.New())
	if err := s.Init(map[string]string{"region": "x", RootConfigKey: t.TempDir()}); err == nil {
		t.Fatal("expected error for unknown config key")
	}
}

func TestInitFromEnv(t *testing.T) {
	root := t.TempDir()
	t.Setenv(RootEnv, root)
	s := NewFileObjectStore(logrus.New())
	if err := s.Init(map[string]string{"bucket": "b"}); err != nil {
		t.Fatal(err)
	}
	if s.root != root {
		t.Fatalf("root %q, want %q", s.root, root)
	}
}

func TestPutGetExistsDelete(t *testing.T) {
	s, root := newStore(t)
	if err := s.PutObject("b", "backups/b1/b1.tar.gz", strings.NewReader("data")); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "b", "backups", "b1", "b1.tar.gz")); err != nil {
		t.Fatal(err)
	}
	ok, err := s.ObjectExists("b", "backups/b1/b1.tar.gz")
	if err != nil || !ok {
		t.Fatalf("exists = %v, %v", ok, err)
	}
	ok, err = s.ObjectExists("b", "backups/b1")
	if err != nil || ok {
		t.Fatalf("directory must not count as object: %v, %v", ok, err)
	}
	rc, err := s.GetObject("b", "backups/b1/b1.tar.gz")
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(rc)
	rc.Close()
	if string(got) != "data" {
		t.Fatalf("got %q", got)
	}
	if err := s.DeleteObject("b", "backups/b1/b1.tar.gz"); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteObject("b", "backups/b1/b1.tar.gz"); err != nil {
		t.Fatalf("deleting a missing object: %v", err)
	}
	if _, err := os.Stat(filepath.Join(root, "b", "backups")); !os.IsNotExist(err) {
		t.Fatalf("empty directories not pruned: %v", err)
	}
	if _, err := os.Stat(filepath.Join(root, "b")); err != nil {
		t.Fatalf("bucket directory removed: %v", err)
	}
}

func TestListing(t *testing.T) {
	s, _ := newStore(t)
	for _, k := range []string{"a-prefix/foo-1/bar", "a-prefix/foo-1/baz", "a-prefix/foo-2/baz", "a-prefix/top", "some-other-prefix/foo-3/bar"} {
		if err := s.PutObject("b", k, strings.NewReader(k)); err != nil {
			t.Fatal(err)
		}
	}
	cp, err := s.ListCommonPrefixes("b", "a-prefix/", "/")
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"a-prefix/foo-1/", "a-prefix/foo-2/"}; !reflect.DeepEqual(cp, want) {
		t.Fatalf("common prefixes %v, want %v", cp, want)
	}
	cp, _ = s.ListCommonPrefixes("b", "", "/")
	if want := []string{"a-prefix/", "some-other-prefix/"}; !reflect.DeepEqual(cp, want) {
		t.Fatalf("root common prefixes %v, want %v", cp, want)
	}
	cp, _ = s.ListCommonPrefixes("b", "a-prefix/foo", "-")
	if want := []string{"a-prefix/foo-"}; !reflect.DeepEqual(cp, want) {
		t.Fatalf("dash common prefixes %v, want %v", cp, want)
	}
	objs, _ := s.ListObjects("b", "a-prefix/foo-1/")
	if want := []string{"a-prefix/foo-1/bar", "a-prefix/foo-1/baz"}; !reflect.DeepEqual(objs, want) {
		t.Fatalf("objects %v, want %v", objs, want)
	}
	objs, err = s.ListObjects("missing-bucket", "")
	if err != nil || len(objs) != 0 {
		t.Fatalf("missing bucket: %v, %v", objs, err)
	}
}

func TestRejectsEscapingKeys(t *testing.T) {
	s, _ := newStore(t)
	for _, k := range []string{"../x", "a/../../x", "/abs", "a//b", ""} {
		if err := s.PutObject("b", k, strings.NewReader("x")); err == nil {
			t.Fatalf("key %q accepted", k)
		}
	}
	if err := s.PutObject("../b", "k", strings.NewReader("x")); err == nil {
		t.Fatal("bucket ../b accepted")
	}
}

func TestSignedURL(t *testing.T) {
	s, root := newStore(t)
	u, err := s.CreateSignedURL("b", "k/v", 0)
	if err != nil {
		t.Fatal(err)
	}
	if want := "file://" + filepath.ToSlash(filepath.Join(root, "b", "k", "v")); u != want {
		t.Fatalf("url %q, want %q", u, want)
	}
}
