package passes

func fuseFilters(u *Unit)  {}
func fuseMaps(u *Unit)     {}
func pruneColumns(u *Unit) {}
func sliceWindows(u *Unit) {}
