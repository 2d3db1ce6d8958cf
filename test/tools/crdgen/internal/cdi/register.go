//go:build kvpoverlay

package resources

func init() {
	CRDs = func() map[string]string { return CDICRDs }
}
