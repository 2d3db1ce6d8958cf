// Command kvp-fsobjectstore is a Velero ObjectStore plugin that keeps objects
// as plain files on the local file system. It exists only for tests: it lets
// a locally running `velero server` use a BackupStorageLocation without any
// S3 endpoint.
//
// Registered name: kvp-test.io/filesystem
//
// Layout: object <key> of bucket <bucket> is the file <root>/<bucket>/<key>.
// <root> comes from the BackupStorageLocation config key "root", or else from
// the environment variable KVP_FS_OBJECT_STORE_ROOT (the velero server's
// environment is inherited by plugin processes).
package main

import (
	"github.com/sirupsen/logrus"
	"github.com/vmware-tanzu/velero/pkg/plugin/framework"
)

// PluginName is the provider name a BackupStorageLocation uses.
const PluginName = "kvp-test.io/filesystem"

func main() {
	framework.NewServer().
		RegisterObjectStore(PluginName, func(logger logrus.FieldLogger) (any, error) {
			return NewFileObjectStore(logger), nil
		}).
		Serve()
}
