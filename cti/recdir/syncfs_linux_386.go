package recdir

// sysSyncfs is syncfs(2), which package syscall does not list on 386.
const sysSyncfs = 344
