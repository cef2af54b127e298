package recdir

// sysSyncfs is syncfs(2), which package syscall does not list on amd64.
const sysSyncfs = 306
