// Package resources receives, by `go build -overlay`, the file
// pkg/operator/resources/crds_generated.go of
// kubevirt.io/containerized-data-importer@$CDI_VERSION (read from GOMODCACHE,
// never committed): the map CDICRDs of complete CRD YAML documents that the CDI
// operator installs. With the build tag kvpoverlay, register.go exposes it.
package resources

// CRDs returns CDI's CRD YAML by key (datavolume, datasource, ...); nil without the overlay.
var CRDs = func() map[string]string { return nil }
