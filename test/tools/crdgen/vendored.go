package main

import "embed"

// vendoredCRDs are CRDs whose Go module the Go module proxy does not serve; see
// vendored/*/README.md for the source repository, tag and commit of each file.
//
//go:embed vendored/virt-template/*.yaml
var vendoredCRDs embed.FS
