# bash completion for regfs(1).
#
# Installed as /usr/share/bash-completion/completions/regfs (loaded on
# demand by bash-completion); without it, `source` this file. It completes
# subcommands and their options, mount options, and, where an argument
# names something in the store, the collection, version, alias, protected
# and principal names of the store that the command line names (--store,
# else $REGFS_STORE), read with `regfs ls`, `regfs alias ls` and
# `regfs role ls`. Needs nothing but bash.

# Runs the completing regfs on the line's store, errors silenced.
_regfs_query() {
  "${_regfs_cmd[@]}" "$@" 2>/dev/null
}

# Reads a table of regfs's text output from stdin; prints the first column
# of the table whose header's first column is $1.
_regfs_column() {
  local header=$1 on=0 first _
  while read -r first _; do
    if [[ -z $first ]]; then
      on=0
    elif [[ $first == "$header" ]]; then
      on=1
    elif ((on)); then
      printf '%s\n' "$first"
    fi
  done
}

_regfs_collections() { _regfs_query ls | _regfs_column COLLECTION; }
_regfs_versions() { _regfs_query ls "$1" | _regfs_column VERSION; }
_regfs_aliases() { _regfs_query alias ls "$1" | _regfs_column ALIAS; }
_regfs_protected() {
  local line
  line=$(_regfs_query ls | sed -n 's/^protected names: //p')
  printf '%s\n' ${line//,/ }
}
_regfs_principals() {
  _regfs_query role ls | _regfs_column PRINCIPAL | grep -v '^\*$'
}

# Adds the words of $1 (newline separated) that start with $cur.
_regfs_add() {
  local word
  while IFS= read -r word; do
    [[ -n $word && $word == "$cur"* ]] && COMPREPLY+=("$word")
  done <<<"$1"
}

# COLLECTION, or COLLECTION/NAME once a slash is typed; $1 says which
# names: versions, aliases, or both.
_regfs_ref() {
  local what=$1 coll
  if [[ $cur != */* ]]; then
    _regfs_add "$(_regfs_collections | sed 's|$|/|')"
    compopt -o nospace 2>/dev/null
    return
  fi
  coll=${cur%%/*}
  local names=""
  [[ $what != aliases ]] && names+=$(_regfs_versions "$coll")$'\n'
  [[ $what != versions ]] && names+=$(_regfs_aliases "$coll")
  _regfs_add "$(sed -n "s|^\(.\)|$coll/\1|p" <<<"$names")"
}

_regfs_files() {
  local IFS=$'\n'
  COMPREPLY+=($(compgen -f -- "$cur"))
  compopt -o filenames 2>/dev/null
}

_regfs_dirs() {
  local IFS=$'\n'
  COMPREPLY+=($(compgen -d -- "$cur"))
  compopt -o filenames 2>/dev/null
}

# Mount options, comma separated: completes the last one.
_regfs_mount_options() {
  local done_part="" last=$cur
  if [[ $cur == *,* ]]; then
    done_part=${cur%,*},
    last=${cur##*,}
  fi
  local opt
  for opt in allow_other allow_root ro rw nosuid nodev noexec suid dev exec \
    noatime sync dirsync auto_unmount debug; do
    [[ $opt == "$last"* ]] && COMPREPLY+=("$done_part$opt")
  done
  compopt -o nospace 2>/dev/null
}

_regfs() {
  COMPREPLY=()
  # Split the line up to the cursor at blanks only: bash's own split breaks
  # group:NAME and --store=DIR apart.
  local line=${COMP_LINE:0:COMP_POINT}
  local -a words
  read -r -a words <<<"$line"
  [[ $line == *[[:blank:]] ]] && words+=("")
  local cur=${words[-1]}
  local prev=""
  ((${#words[@]} > 1)) && prev=${words[-2]}

  # The store, the subcommand path and the positionals before the cursor.
  local -a _regfs_cmd=("${words[0]/#\~/$HOME}")
  local -a path=() args=()
  local i w expecting=""
  for ((i = 1; i < ${#words[@]} - 1; i++)); do
    w=${words[i]}
    if [[ -n $expecting ]]; then
      [[ $expecting == store ]] && _regfs_cmd+=(--store "${w/#\~/$HOME}")
      expecting=""
      continue
    fi
    case $w in
      -s | --store) expecting=store ;;
      --store=*) _regfs_cmd+=(--store "${w#--store=}") ;;
      -a | --alias | -t | --tag | -m | --meta | -d | --description | \
        --since | --expect | -o | --log-level | --log-file | --listen) expecting=value ;;
      -*) ;;
      *)
        # The subcommand, then (after alias, tag, role, automation) its
        # subcommand.
        if ((${#path[@]} == 0)) ||
          [[ ${#path[@]} -eq 1 && ${#args[@]} -eq 0 && ${path[0]} =~ ^(alias|tag|role|automation)$ ]]; then
          path+=("$w")
          continue
        fi
        args+=("$w")
        ;;
    esac
  done

  # Values of options.
  case $prev in
    -s | --store | --log-file)
      [[ $prev == --log-file ]] && _regfs_files || _regfs_dirs
      return
      ;;
    -o)
      _regfs_mount_options
      return
      ;;
    --log-level)
      _regfs_add $'trace\ndebug\ninfo\nwarn\nerror\ncritical\noff'
      return
      ;;
    -a | --alias)
      [[ ${args[0]:-} ]] && _regfs_add "$(_regfs_aliases "${args[0]}")"
      return
      ;;
    --expect)
      [[ ${args[0]:-} ]] && _regfs_add "$(_regfs_versions "${args[0]}")"$'\nnone'
      return
      ;;
    -t | --tag | -m | --meta | -d | --description | --since | --limit | \
      --listen)
      return
      ;;
  esac

  local cmd="${path[*]}"
  local n=${#args[@]}
  if [[ $cur == -* ]]; then
    local opts="-h --help"
    case $cmd in
      "") opts+=" --version -s --store" ;;
      push) opts+=" -a --alias -t --tag -m --meta -d --description -L --follow-symlinks --json" ;;
      ls | resolve | verify | gc | whoami | "alias ls" | "role ls") opts+=" --json" ;;
      fsck) opts+=" --repair --contents --json" ;;
      init) opts+=" --metadata --blobs --s3-endpoint --cache-size" ;;
      "cache ls" | "cache warm" | "cache drop") opts+=" --json" ;;
      history) opts+=" --alias --since -f --follow --json" ;;
      search) opts+=" --limit --json" ;;
      "alias set") opts+=" --expect" ;;
      "alias mv") opts+=" -f --force" ;;
      mount) opts+=" -o -f --foreground --log-level --log-file" ;;
      serve) opts+=" --listen" ;;
    esac
    _regfs_add "${opts// /$'\n'}"
    return
  fi

  case $cmd in
    "")
      _regfs_add "$(printf '%s\n' init push ls resolve search rm tag alias \
        protect unprotect role history fsck verify gc whoami mount automation \
        cache serve)"
      ;;
    alias) _regfs_add $'set\nrm\nmv\nls' ;;
    tag) _regfs_add $'add\nrm' ;;
    role) _regfs_add $'grant\nrevoke\ndefault\nls' ;;
    automation) _regfs_add $'add\nls\nrm\ntest\nlog\nrun' ;;
    cache) _regfs_add $'ls\nwarm\ndrop' ;;
    push)
      if ((n == 0)); then
        _regfs_add "$(_regfs_collections)"
      else
        _regfs_files
      fi
      ;;
    ls | verify) ((n == 0)) && _regfs_ref both ;;
    history) ((n == 0)) && _regfs_ref aliases ;;
    resolve) ((n == 0)) && _regfs_ref aliases ;;
    "cache warm") _regfs_ref aliases ;;
    rm | "tag add" | "tag rm") ((n == 0)) && _regfs_ref versions ;;
    "alias set")
      case $n in
        0) _regfs_add "$(_regfs_collections)" ;;
        1) _regfs_add "$(_regfs_aliases "${args[0]}")" ;;
        2) _regfs_add "$(_regfs_versions "${args[0]}")"$'\n'"$(_regfs_aliases "${args[0]}")" ;;
      esac
      ;;
    "alias rm" | "alias mv")
      case $n in
        0) _regfs_add "$(_regfs_collections)" ;;
        1 | 2) _regfs_add "$(_regfs_aliases "${args[0]}")" ;;
      esac
      ;;
    "alias ls") ((n == 0)) && _regfs_add "$(_regfs_collections)" ;;
    protect) ((n == 0)) && _regfs_add $'production\nstaging' ;;
    unprotect) ((n == 0)) && _regfs_add "$(_regfs_protected)" ;;
    "role grant")
      case $n in
        0)
          _regfs_add "$(compgen -u)"
          _regfs_add "$(compgen -g | sed 's/^/group:/')"
          _regfs_add '*'
          ;;
        1) _regfs_add $'admin\nmember\nviewer' ;;
      esac
      ;;
    "role revoke") ((n == 0)) && _regfs_add "$(_regfs_principals)" ;;
    "role default") ((n == 0)) && _regfs_add $'admin\nmember\nviewer\nnone' ;;
    mount) ((n == 0)) && _regfs_dirs ;;
  esac

  # readline replaces only the text after the word's last ':' or '='
  # (group:NAME): drop what comes before from each candidate.
  if [[ $cur == *[:=]* ]]; then
    local strip=${cur%"${cur##*[:=]}"}
    for i in "${!COMPREPLY[@]}"; do
      COMPREPLY[i]=${COMPREPLY[i]#"$strip"}
    done
  fi
}

complete -F _regfs regfs
