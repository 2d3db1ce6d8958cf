# The plugin image, in the layout of velero-plugin-example: the plugin and its two libraries under
# /plugins, copied into Velero's plugin volume (/target) by the init container's entrypoint. No shell:
# the copier is a statically linked busybox from Debian. Non-root.
#
# Build context: build/image, prepared by `npm run build`:
#   npm run build && docker build -f Dockerfile -t <registry>/kubevirt-velero-plugin-ts:<tag> build/image
FROM scratch
COPY bin/busybox /bin/busybox
COPY plugins/ /plugins/
USER 65532:65532
ENTRYPOINT ["/bin/busybox", "cp", "/plugins/kubevirt-velero-plugin", "/plugins/libstdc++.so.6", "/plugins/libgcc_s.so.1", "/target/"]
