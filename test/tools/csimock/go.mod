// Tools module: builds the CSI mock driver of csi-test v3 (cmd/mock-driver) with the
// dependency versions it was released with (CSI spec v1.2, gRPC 1.25): it does not
// compile against the CSI spec the external-snapshotter module needs, so it has a
// module of its own. No Go source of its own. Version must match test/tools/versions.env
// (CSI_TEST_VERSION); scripts/build-go-tools.sh checks that.
module kubevirt-velero-plugin-ts/test/tools/csimock

go 1.26.0

tool github.com/kubernetes-csi/csi-test/v3/cmd/mock-driver

require (
	github.com/container-storage-interface/spec v1.2.0 // indirect
	github.com/golang/mock v1.3.1 // indirect
	github.com/golang/protobuf v1.3.2 // indirect
	github.com/konsorten/go-windows-terminal-sequences v1.0.2 // indirect
	github.com/kubernetes-csi/csi-test/v3 v3.1.1 // indirect
	github.com/robertkrimen/otto v0.0.0-20191219234010-c382bd3c16ff // indirect
	github.com/sirupsen/logrus v1.4.2 // indirect
	golang.org/x/net v0.0.0-20191112182307-2180aed22343 // indirect
	golang.org/x/sys v0.0.0-20191113165036-4c7a9d0fe056 // indirect
	golang.org/x/text v0.3.2 // indirect
	google.golang.org/genproto v0.0.0-20191114150713-6bbd007550de // indirect
	google.golang.org/grpc v1.25.1 // indirect
	gopkg.in/sourcemap.v1 v1.0.5 // indirect
	gopkg.in/yaml.v2 v2.2.5 // indirect
)
