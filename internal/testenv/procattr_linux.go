package testenv

import "syscall"

// procAttr makes the server die with the test binary that started it, so a
// shared server never outlives `go test` (testscript.Main exits directly).
func procAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
}
