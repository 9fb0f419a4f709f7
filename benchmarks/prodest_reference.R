# Reference run of R `prodest` on the Chilean plant panel, for tests/reference/production.json.
#
# This script only *calls* prodest (GPL-3, not part of this repository) and writes what it returns as JSON.
#
# Usage:
#   Rscript benchmarks/prodest_reference.R <prodest_chile.csv> [out.json]
#
# prodest is taken from the installed package (library(prodest)) or, when the environment variable
# PRODEST_R_DIR names a folder holding prodest's R/ sources (auxFun.R, ClassMethods.R, prodestOPLP.R,
# prodestACF.R, prodestWRDG_GMM.R, prodestROB.R), by source()-ing those files. The run of 2026-12-05 used the
# CRAN 1.0.2 sources (MD5-identical to the CRAN tarball's MD5 list) on R 4.2.2 (Debian bookworm r-base-core)
# with dplyr 1.0.10, Matrix 1.5-3, Rsolnp 1.16, DEoptim 2.2-8, AER 1.2-10, jsonlite 1.8.4.
#
# Specification (prodest's own examples, man/prodestOP.Rd, prodestLP.Rd, prodestACF.Rd, prodestWRDG.Rd):
#   Y = log value added; fX = (skilled, unskilled labour); sX = capital; pX = investment (OP) or materials
#   (LP, ACF, WRDG); every other argument at its default: second-order first-stage polynomial (fixed in the
#   code), cubic law of motion (fixed), opt = 'optim' (BFGS), R = 20 bootstrap replications, theta0 = NULL
#   (first-stage coefficients + N(0, 0.01) noise), exit = FALSE. set.seed(154673) (the seed of the examples)
#   before each default run.
# Extra runs pin the optimiser's answer without the random start: theta0 = the first-stage coefficients
# themselves (OP, LP, ACF), and theta0 = c(.5, .5, .5) (the prodestACF example). For the bootstrap s.e. each
# of OP, LP and ACF is also run with R = 100 (set.seed(154673)).

args <- commandArgs(trailingOnly = TRUE)
if (length(args) < 1) stop("usage: Rscript benchmarks/prodest_reference.R <prodest_chile.csv> [out.json]")
out_file <- if (length(args) >= 2) args[2] else ""

suppressPackageStartupMessages({
  library(dplyr)
  library(parallel)
  library(Matrix)
  library(methods)
  library(Rsolnp)
  library(DEoptim)
  library(AER)
  library(jsonlite)
})
src <- Sys.getenv("PRODEST_R_DIR")
if (nzchar(src)) {
  for (f in c("auxFun.R", "ClassMethods.R", "prodestOPLP.R", "prodestACF.R", "prodestWRDG_GMM.R",
              "prodestROB.R")) {
    source(file.path(src, f))
  }
  prodest_version <- paste("sources in", src)
} else {
  suppressPackageStartupMessages(library(prodest))
  prodest_version <- as.character(packageVersion("prodest"))
}

d <- read.csv(args[1])
d <- d[order(d$id, d$year), ]
Y <- d$log_y
fX <- cbind(d$log_lab1, d$log_lab2)
sX <- d$log_k
idv <- d$id
tv <- d$year
names3 <- c("log_lab1", "log_lab2", "log_k")

pack <- function(fit, extra = list()) {
  oo <- fit@Model$opt.outcome
  res <- list(coef = setNames(as.list(unname(fit@Estimates$pars)), names3),
              se = setNames(as.list(unname(fit@Estimates$std.errors)), names3))
  if (!is.null(oo$value)) res$criterion <- as.numeric(oo$value)
  if (!is.null(oo$convergence)) res$convergence <- oo$convergence
  if (!is.null(oo$counts)) res$counts <- as.list(oo$counts)
  c(res, extra)
}

# prodest's optim (BFGS, default reltol 1e-8) stops where its criterion is flat to ~1e-8 relative, which can
# leave the state coefficient 1e-5..1e-3 from the minimiser. `polish` restarts prodest from its own answer
# (theta0 = the last estimate, R = 1) until the estimate moves by less than 1e-9 (at most 30 restarts): still
# prodest's criterion and optimiser, only run to convergence.
polish <- function(fn, theta, ...) {
  for (i in seq_len(30)) {
    fit <- fn(..., theta0 = theta, R = 1)
    new <- if (length(theta) == 3) unname(fit@Estimates$pars) else unname(fit@Estimates$pars[3])
    step <- max(abs(new - theta))
    theta <- new
    if (step < 1e-9) break
  }
  res <- pack(fit, list(restarts = i, last_step = step))
  res$se <- NULL
  res
}

out <- list(prodest = prodest_version, R = R.version.string, seed = 154673, date = as.character(Sys.Date()))

# ---- OP (investment proxy) and LP (materials proxy) ----
for (m in c("OP", "LP")) {
  fn <- if (m == "OP") prodestOP else prodestLP
  pX <- if (m == "OP") d$log_investment else d$log_materials
  set.seed(154673)
  fit <- fn(Y, fX = fX, sX = sX, pX = pX, idvar = idv, timevar = tv)
  fs <- fit@Model$FSbetas
  start <- unname(fs[4])  # first-stage coefficient of sX: prodest's start before its noise
  fit0 <- fn(Y, fX = fX, sX = sX, pX = pX, idvar = idv, timevar = tv, theta0 = start, R = 1)
  set.seed(154673)
  fit100 <- fn(Y, fX = fX, sX = sX, pX = pX, idvar = idv, timevar = tv, R = 100)
  out[[m]] <- list(
    default = pack(fit),
    fs_start = pack(fit0, list(theta0 = start)),
    polished = polish(fn, unname(fit@Estimates$pars[3]), Y, fX = fX, sX = sX, pX = pX, idvar = idv, timevar = tv),
    R100 = list(coef = setNames(as.list(unname(fit100@Estimates$pars)), names3),
                se = setNames(as.list(unname(fit100@Estimates$std.errors)), names3)),
    first_stage = as.list(unname(fs)))
}

# ---- ACF (materials proxy) ----
pX <- d$log_materials
acf_data <- .prepare_acf_data(Y = as.matrix(Y), fX = fX, sX = as.matrix(sX), pX = as.matrix(pX),
                              idvar = as.matrix(idv), timevar = as.matrix(tv))
fs <- coef(lm(acf_data[, "Y"] ~ acf_data[, grepl("regvars", colnames(acf_data))]))
start <- unname(fs[2:4])
set.seed(154673)
fit <- prodestACF(Y, fX = fX, sX = sX, pX = pX, idvar = idv, timevar = tv)
fit0 <- prodestACF(Y, fX = fX, sX = sX, pX = pX, idvar = idv, timevar = tv, theta0 = start, R = 1)
fit5 <- prodestACF(Y, fX = fX, sX = sX, pX = pX, idvar = idv, timevar = tv, theta0 = c(.5, .5, .5), R = 1)
set.seed(154673)
fit100 <- prodestACF(Y, fX = fX, sX = sX, pX = pX, idvar = idv, timevar = tv, R = 100)
out$ACF <- list(default = pack(fit), fs_start = pack(fit0, list(theta0 = start)),
                example_start = pack(fit5, list(theta0 = c(.5, .5, .5))),
                polished = polish(prodestACF, unname(fit@Estimates$pars), Y, fX = fX, sX = sX, pX = pX,
                                  idvar = idv, timevar = tv),
                example_polished = polish(prodestACF, unname(fit5@Estimates$pars), Y, fX = fX, sX = sX, pX = pX,
                                          idvar = idv, timevar = tv),
                R100 = list(coef = setNames(as.list(unname(fit100@Estimates$pars)), names3),
                            se = setNames(as.list(unname(fit100@Estimates$std.errors)), names3)))

# ---- Wooldridge: prodestWRDG_GMM (the prodestWRDG man page's example) and prodestROB (the IV form) ----
fit <- prodestWRDG_GMM(Y, fX = fX, sX = sX, pX = pX, idvar = idv, timevar = tv)
out$WRDG_GMM <- pack(fit)
fit <- prodestROB(Y, fX = fX, sX = sX, pX = pX, idvar = idv, timevar = tv)
out$ROB <- pack(fit)

txt <- toJSON(out, auto_unbox = TRUE, digits = NA, pretty = TRUE)
if (nzchar(out_file)) writeLines(txt, out_file) else cat(txt, "\n")
