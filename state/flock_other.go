//go:build !unix

package state

import (
	"errors"
	"os"
)

// Without flock, only one process per file can be assumed; the lock file's
// content still names the holder. Non-Unix platforms are not supported for
// concurrent applies.
func tryLockFile(f *os.File) (bool, error) {
	return false, errors.New("state locking needs a Unix system")
}

func unlockFile(*os.File) {}
