package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
)

type results struct {
	Date         string                          `json:"date"`
	Label        string                          `json:"label,omitempty"`
	Machine      string                          `json:"machine"`
	Sizes        []int                           `json:"sizes"`
	Reps         int                             `json:"reps"`
	Binaries     []string                        `json:"binaries"`
	GoReusedFrom string                          `json:"goReusedFrom,omitempty"`
	Samples      map[string]map[string][]float64 `json:"samples"` // plugin -> figure -> samples
	Backups      []pass                          `json:"backups"`
	Restores     []pass                          `json:"restores"`
	WallSeconds  float64                         `json:"wallSeconds"`
}

func (r *results) add(plugin, figure string, v float64) {
	if r.Samples == nil {
		r.Samples = map[string]map[string][]float64{}
	}
	if r.Samples[plugin] == nil {
		r.Samples[plugin] = map[string][]float64{}
	}
	r.Samples[plugin][figure] = append(r.Samples[plugin][figure], v)
}

func loadResults(path string) *results {
	data, err := os.ReadFile(path)
	must(err)
	var r results
	must(json.Unmarshal(data, &r))
	return &r
}

// mergeGo takes the Go plugin's figures from an earlier run.
func (r *results) mergeGo(old *results) {
	if r.Samples == nil {
		r.Samples = map[string]map[string][]float64{}
	}
	if r.Samples["go"] == nil {
		r.Samples["go"] = old.Samples["go"]
	}
	for _, b := range old.Backups {
		if b.Plugin == "go" {
			r.Backups = append(r.Backups, b)
		}
	}
	for _, b := range old.Restores {
		if b.Plugin == "go" {
			r.Restores = append(r.Restores, b)
		}
	}
	for _, b := range old.Binaries {
		if strings.HasPrefix(b, "go:") {
			r.Binaries = append(r.Binaries, "go backup and restore passes from "+r.GoReusedFrom)
		}
	}
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return -1
	}
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func (r *results) passes(list []pass, plugin string, n int) []pass {
	var out []pass
	for _, p := range list {
		if p.Plugin == plugin && p.N == n {
			out = append(out, p)
		}
	}
	return out
}

func (r *results) passMedian(list []pass, plugin string, n int, f func(pass) float64) float64 {
	var v []float64
	for _, p := range r.passes(list, plugin, n) {
		v = append(v, f(p))
	}
	return median(v)
}

// maxLists is the largest number of LISTs of one (namespace, resource) in a pass.
func maxLists(p pass) int {
	m := 0
	for k, v := range p.ByRequest {
		if strings.HasPrefix(k, "list ") && v > m {
			m = v
		}
	}
	return m
}

func (r *results) print(w io.Writer) {
	fmt.Fprintf(w, "date: %s\n", r.Date)
	if r.Label != "" {
		fmt.Fprintf(w, "build: %s\n", r.Label)
	}
	fmt.Fprintf(w, "machine: %s\n", r.Machine)
	for _, b := range r.Binaries {
		fmt.Fprintf(w, "plugin %s\n", b)
	}
	fmt.Fprintf(w, "sizes: %v VMs; repetitions: %d; wall time %.0f s\n\n", r.Sizes, r.Reps, r.WallSeconds)

	type row struct {
		figure   string
		g, t     float64
		unit     string
		target   float64 // ratio target, or absolute (ms) when abs
		abs      bool
		noTarget bool
	}
	var rows []row
	hwm := func(p pass) float64 { return p.HWMMiB }
	wall := func(p pass) float64 { return p.WallSeconds }
	for _, n := range r.Sizes {
		target := 1.25
		if n >= 1000 {
			target = 1.0
		}
		rows = append(rows, row{figure: fmt.Sprintf("peak RSS, %d-VM backup", n), g: r.passMedian(r.Backups, "go", n, hwm), t: r.passMedian(r.Backups, "ts", n, hwm), unit: "MiB", target: target})
	}
	for _, n := range r.Sizes {
		rows = append(rows, row{figure: fmt.Sprintf("peak RSS, %d-VM restore", n), g: r.passMedian(r.Restores, "go", n, hwm), t: r.passMedian(r.Restores, "ts", n, hwm), unit: "MiB", target: 1.25})
	}
	s := func(p, f string) float64 { return median(r.Samples[p][f]) }
	rows = append(rows,
		row{figure: "exec → handshake, median", g: s("go", "handshake_ms"), t: s("ts", "handshake_ms"), unit: "ms", target: 1.5},
		row{figure: "exec → first RPC answered (AppliesTo, through Velero's client), median", g: s("go", "first_rpc_ms"), t: s("ts", "first_rpc_ms"), unit: "ms", noTarget: true},
		row{figure: "first Execute in a new process (stopped VM), median", g: s("go", "first_execute_stopped_ms"), t: s("ts", "first_execute_stopped_ms"), unit: "ms", target: 3},
		row{figure: "first call that needs the cluster (running VM, new process), median", g: s("go", "first_cluster_call_ms"), t: s("ts", "first_cluster_call_ms"), unit: "ms", target: 1},
		row{figure: "  CPU of the plugin process until the handshake (utime+stime, 10 ms ticks), median", g: s("go", "handshake_cpu_ms"), t: s("ts", "handshake_cpu_ms"), unit: "ms", noTarget: true},
		row{figure: "  CPU of the plugin process in the first Execute (stopped VM), median", g: s("go", "first_execute_stopped_cpu_ms"), t: s("ts", "first_execute_stopped_cpu_ms"), unit: "ms", noTarget: true},
		row{figure: "  CPU of the plugin process in the first cluster-needing Execute, median", g: s("go", "first_cluster_call_cpu_ms"), t: s("ts", "first_cluster_call_cpu_ms"), unit: "ms", noTarget: true},
		row{figure: "exit after Shutdown (go-plugin Kill), median", g: s("go", "exit_after_shutdown_ms"), t: s("ts", "exit_after_shutdown_ms"), unit: "ms", target: 20, abs: true},
	)
	for _, n := range r.Sizes {
		rows = append(rows, row{figure: fmt.Sprintf("restore action phase, %d VMs", n), g: r.passMedian(r.Restores, "go", n, wall), t: r.passMedian(r.Restores, "ts", n, wall), unit: "s", target: 1})
	}
	for _, n := range r.Sizes {
		rows = append(rows, row{figure: fmt.Sprintf("backup action phase, %d VMs", n), g: r.passMedian(r.Backups, "go", n, wall), t: r.passMedian(r.Backups, "ts", n, wall), unit: "s", noTarget: true})
	}
	fmt.Fprintln(w, "| figure | Go | TS | TS/Go | target | met |")
	fmt.Fprintln(w, "|---|---:|---:|---:|---|---|")
	for _, x := range rows {
		ratio := "–"
		if x.g > 0 && x.t >= 0 {
			ratio = fmt.Sprintf("%.2f×", x.t/x.g)
		}
		target, met := "", ""
		switch {
		case x.noTarget:
		case x.abs:
			target = fmt.Sprintf("TS ≤ %.0f %s", x.target, x.unit)
			met = yes(x.t >= 0 && x.t <= x.target)
		default:
			target = fmt.Sprintf("≤ %.2f×", x.target)
			met = yes(x.g > 0 && x.t >= 0 && x.t/x.g <= x.target)
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s |\n", x.figure, num(x.g, x.unit), num(x.t, x.unit), ratio, target, met)
	}
	for _, n := range r.Sizes {
		gb, tb := r.passes(r.Backups, "go", n), r.passes(r.Backups, "ts", n)
		if len(gb) == 0 || len(tb) == 0 {
			continue
		}
		fmt.Fprintf(w, "| LISTs per (namespace, resource), %d-VM backup (max) | %d | %d | | TS ≤ 1 | %s |\n", n, maxLists(gb[0]), maxLists(tb[0]), yes(maxLists(tb[0]) <= 1))
		same := gb[0].AddDigest == tb[0].AddDigest
		fmt.Fprintf(w, "| additional items, %d-VM backup | %d | %d | | same | %s |\n", n, gb[0].AddCount, tb[0].AddCount, yes(same))
	}
	fmt.Fprintln(w)

	fmt.Fprintln(w, "Samples (start-up): "+r.sampleLine())
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| pass | N | plugin | rep | start | action phase | plugin CPU | VmHWM | VmRSS at end | calls | errors | skipRestore | API requests | bytes | exit after Shutdown |")
	fmt.Fprintln(w, "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
	for _, kind := range []string{"backup", "restore"} {
		list := r.Backups
		if kind == "restore" {
			list = r.Restores
		}
		for _, p := range list {
			fmt.Fprintf(w, "| %s | %d | %s | %d | %.3f s | %.2f s | %.2f s | %.0f MiB | %.0f MiB | %d | %d | %d | %d | %s | %.0f ms |\n",
				kind, p.N, p.Plugin, p.Rep, p.StartSeconds, p.WallSeconds, p.CPUSeconds, p.HWMMiB, p.RSSMiB, p.Calls, p.Errors, p.SkipRestore, p.Requests, bytesText(p.Bytes), p.ExitMs)
		}
	}
	fmt.Fprintln(w)
	for _, kind := range []string{"backup", "restore"} {
		list := r.Backups
		if kind == "restore" {
			list = r.Restores
		}
		for _, p := range list {
			if p.Rep != 1 {
				continue
			}
			fmt.Fprintf(w, "- %s N=%d %s: calls %s; requests %s", kind, p.N, p.Plugin, mapText(p.CallsBy), mapText(p.ByRequest))
			if p.FirstError != "" {
				fmt.Fprintf(w, "; first error: %s", p.FirstError)
			}
			fmt.Fprintln(w)
		}
	}
}

func (r *results) sampleLine() string {
	var parts []string
	for _, p := range []string{"go", "ts"} {
		var figs []string
		for f := range r.Samples[p] {
			figs = append(figs, f)
		}
		sort.Strings(figs)
		for _, f := range figs {
			v := append([]float64(nil), r.Samples[p][f]...)
			sort.Float64s(v)
			parts = append(parts, fmt.Sprintf("%s %s min %.1f median %.1f max %.1f ms (%d)", p, f, v[0], median(v), v[len(v)-1], len(v)))
		}
	}
	return strings.Join(parts, "; ")
}

func mapText(m map[string]int) string {
	if len(m) == 0 {
		return "none"
	}
	var keys []string
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s %d", strings.TrimSpace(k), m[k]))
	}
	return strings.Join(parts, ", ")
}

func yes(b bool) string {
	if b {
		return "yes"
	}
	return "**no**"
}

func num(v float64, unit string) string {
	if v < 0 {
		return "–"
	}
	switch unit {
	case "s":
		return fmt.Sprintf("%.2f s", v)
	case "ms":
		return fmt.Sprintf("%.1f ms", v)
	default:
		return fmt.Sprintf("%.0f %s", v, unit)
	}
}

func bytesText(b int64) string {
	switch {
	case b >= 1<<30:
		return fmt.Sprintf("%.2f GiB", float64(b)/(1<<30))
	case b >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20))
	default:
		return fmt.Sprintf("%.1f KiB", float64(b)/1024)
	}
}
