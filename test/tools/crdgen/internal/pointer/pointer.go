// Package pointer stands in for kubevirt.io/kubevirt/pkg/pointer, the one
// kubevirt.io/kubevirt package that components/crds.go imports. build-go-tools.sh
// rewrites that import to this package when it overlays crds.go (see ../kubevirt).
package pointer

// P returns a pointer to a copy of t (same as kubevirt's pointer.P).
func P[T any](t T) *T {
	return &t
}
