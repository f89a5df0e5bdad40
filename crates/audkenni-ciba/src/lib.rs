//! audkenni-ciba
