# Build and install Outpost. `make install` honours DESTDIR (staged installs, packaging) and PREFIX.
PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
SYSCONFDIR ?= /etc
UNITDIR ?= /usr/lib/systemd/system
USERUNITDIR ?= /usr/lib/systemd/user
SYSUSERSDIR ?= /usr/lib/sysusers.d
TMPFILESDIR ?= /usr/lib/tmpfiles.d
DOCDIR ?= $(PREFIX)/share/doc/outpost
SWIFT ?= swift
CONFIGURATION ?= release
# Extra `swift build` flags: the Debian package links the Swift runtime in statically (`make deb`).
SWIFT_BUILD_FLAGS ?=

PROGRAMS = outpostd outpostctl outpost-coordinator
LIBEXECDIR ?= $(PREFIX)/libexec/outpost

.PHONY: all build test install uninstall clean deb

all: build

build:
	# One product per call: swift build honours only the last --product it is given.
	for program in $(PROGRAMS) outpost-launch; do \
		$(SWIFT) build -c $(CONFIGURATION) $(SWIFT_BUILD_FLAGS) --product $$program || exit 1; \
	done

test:
	bash .ci/test

install: build
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBEXECDIR) $(DESTDIR)$(UNITDIR) $(DESTDIR)$(USERUNITDIR) \
		$(DESTDIR)$(SYSUSERSDIR) $(DESTDIR)$(TMPFILESDIR) $(DESTDIR)$(SYSCONFDIR)/outpost $(DESTDIR)$(DOCDIR)
	for program in $(PROGRAMS); do \
		install -m 0755 "$$($(SWIFT) build -c $(CONFIGURATION) $(SWIFT_BUILD_FLAGS) --show-bin-path)/$$program" $(DESTDIR)$(BINDIR)/$$program; \
	done
	# outpostd looks for it in ../libexec/outpost/ beside its own directory.
	install -m 0755 "$$($(SWIFT) build -c $(CONFIGURATION) $(SWIFT_BUILD_FLAGS) --show-bin-path)/outpost-launch" $(DESTDIR)$(LIBEXECDIR)/outpost-launch
	sed 's|/usr/local/bin/outpostd|$(BINDIR)/outpostd|; s|/usr/local/share/doc/outpost|$(DOCDIR)|' \
		systemd/outpostd.service > $(DESTDIR)$(UNITDIR)/outpostd.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/outpostd.service
	sed 's|/usr/local/bin/outpostd|$(BINDIR)/outpostd|; s|/usr/local/share/doc/outpost|$(DOCDIR)|' \
		systemd/user/outpostd.service > $(DESTDIR)$(USERUNITDIR)/outpostd.service
	chmod 0644 $(DESTDIR)$(USERUNITDIR)/outpostd.service
	sed 's|/usr/local/bin/outpost-coordinator|$(BINDIR)/outpost-coordinator|; s|/usr/local/share/doc/outpost|$(DOCDIR)|' \
		systemd/outpost-coordinator.service > $(DESTDIR)$(UNITDIR)/outpost-coordinator.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/outpost-coordinator.service
	install -m 0644 systemd/outpostd.socket $(DESTDIR)$(UNITDIR)/outpostd.socket
	install -m 0644 systemd/outpost.sysusers.conf $(DESTDIR)$(SYSUSERSDIR)/outpost.conf
	install -m 0644 systemd/outpost.tmpfiles.conf $(DESTDIR)$(TMPFILESDIR)/outpost.conf
	# Never overwrite an admin's configuration.
	test -e $(DESTDIR)$(SYSCONFDIR)/outpost/outpostd.toml || \
		install -m 0644 etc/outpost/outpostd.toml $(DESTDIR)$(SYSCONFDIR)/outpost/outpostd.toml
	test -e $(DESTDIR)$(SYSCONFDIR)/outpost/coordinator.toml || \
		install -m 0644 etc/outpost/coordinator.toml $(DESTDIR)$(SYSCONFDIR)/outpost/coordinator.toml
	install -m 0644 README.md $(DESTDIR)$(DOCDIR)/README.md

uninstall:
	rm -f $(foreach p,$(PROGRAMS),$(DESTDIR)$(BINDIR)/$(p)) $(DESTDIR)$(LIBEXECDIR)/outpost-launch \
		$(DESTDIR)$(UNITDIR)/outpostd.service $(DESTDIR)$(UNITDIR)/outpostd.socket \
		$(DESTDIR)$(UNITDIR)/outpost-coordinator.service $(DESTDIR)$(USERUNITDIR)/outpostd.service \
		$(DESTDIR)$(SYSUSERSDIR)/outpost.conf $(DESTDIR)$(TMPFILESDIR)/outpost.conf $(DESTDIR)$(DOCDIR)/README.md

# outpost_VERSION_ARCH.deb in this directory (see Scripts/build-deb.sh).
deb:
	bash Scripts/build-deb.sh

clean:
	$(SWIFT) package clean
