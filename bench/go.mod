module github.com/mmapvec/persistence/bench

go 1.26

require github.com/mmapvec/persistence v0.0.0

replace github.com/mmapvec/persistence => ../
