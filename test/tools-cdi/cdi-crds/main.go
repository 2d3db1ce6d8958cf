// Command cdi-crds writes the CustomResourceDefinitions that CDI's operator installs
// (kubevirt.io/containerized-data-importer pkg/operator/resources CDICRDs, the same tag as
// cdi-controller) to stdout as one multi-document YAML stream, sorted by key, so that the lab can
// install every CRD cdi-controller watches (CDIConfig, StorageProfile, DataImportCron, the volume
// populator sources, ...), not only the DataVolume and DataSource CRDs of the main lab.
package main

import (
	"fmt"
	"os"
	"sort"
	"strings"

	resources "kubevirt.io/containerized-data-importer/pkg/operator/resources"
)

func main() {
	keys := make([]string, 0, len(resources.CDICRDs))
	for k := range resources.CDICRDs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if _, err := fmt.Fprintf(os.Stdout, "---\n# CDICRDs[%q]\n%s\n", k, strings.TrimRight(resources.CDICRDs[k], "\n")); err != nil {
			os.Exit(1)
		}
	}
}
